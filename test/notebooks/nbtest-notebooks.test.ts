import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { runNbtest } from "../nbtest/run-nbtest";

const NOTEBOOKS = resolve(__dirname, "../../notebooks");
/** Optional project-wide sanitizers for the notebooks (nbval format), e.g. for timings. */
const SANITIZERS = join(NOTEBOOKS, "sanitize.cfg");

describe("notebooks/*.ipynb run fresh and match their saved outputs (tokenlab nbtest)", function () {
  this.timeout(900_000);
  for (const name of readdirSync(NOTEBOOKS).filter((file) => file.endsWith(".ipynb")).sort()) {
    it(name, async () => {
      const sanitize = existsSync(SANITIZERS) ? ["--sanitize-with", SANITIZERS] : [];
      const { code, output } = await runNbtest([...sanitize, join(NOTEBOOKS, name)], NOTEBOOKS);
      assert.equal(code, 0, output);
    });
  }
});
