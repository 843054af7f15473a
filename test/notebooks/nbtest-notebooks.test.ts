import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { runNbtest } from "../nbtest/run-nbtest";

const NOTEBOOKS = resolve(__dirname, "../../notebooks");
/** Optional project-wide sanitizers for the notebooks (nbval format), e.g. for timings. */
const SANITIZERS = join(NOTEBOOKS, "sanitize.cfg");
/**
 * The saved outputs were computed on tokenlab's wasm kernels: their arithmetic is the same on every
 * machine, while OpenBLAS sums in a CPU-dependent order, and a few hundred training steps carry that
 * into printed digits (README, Notebook tests).
 */
const DETERMINISTIC = { TOKENLAB_BLAS: "off" };

describe("notebooks/*.ipynb run fresh and match their saved outputs (tokenlab nbtest)", function () {
  this.timeout(900_000);
  for (const name of readdirSync(NOTEBOOKS).filter((file) => file.endsWith(".ipynb")).sort()) {
    it(name, async () => {
      const sanitize = existsSync(SANITIZERS) ? ["--sanitize-with", SANITIZERS] : [];
      const { code, output } = await runNbtest([...sanitize, join(NOTEBOOKS, name)], NOTEBOOKS, DETERMINISTIC);
      assert.equal(code, 0, output);
    });
  }
});
