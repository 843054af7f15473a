import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installTempKernelspec } from "./kernel-fixture";

describe("jupyter console with the tokenlab kernel", function () {
  it("runs typed input line by line, shows Out[n] for values and shuts the kernel down at EOF", function () {
    const spec = installTempKernelspec();
    const cwd = mkdtempSync(join(tmpdir(), "tokenlab-console-"));
    try {
      const run = spawnSync("/usr/bin/jupyter", ["console", "--kernel=tokenlab", "--simple-prompt"], {
        cwd,
        input: "const v: number = 20 + 1;\nv * 2\n",
        env: { ...process.env, JUPYTER_PATH: spec.jupyterPath },
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /TypeScript \(tokenlab\)|tokenlab \d/);
      assert.match(run.stdout, /Out\[2\]: 42/);
      assert.match(run.stdout, /Shutting down kernel/);
    } finally {
      spec.cleanup();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
