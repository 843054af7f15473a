import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installTempKernelspec } from "./kernel-fixture";

/** Debian's jupyter-nbconvert, run under the system python that apt manages. */
const SYSTEM_JUPYTER = "/usr/bin/jupyter";
const NOTEBOOK = join(__dirname, "fixtures", "kernel-smoke.ipynb");

interface SavedOutput {
  output_type: string;
  /** nbformat may store multi-line strings as lists of lines. */
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

describe("a notebook executed by jupyter nbconvert", function () {
  it("saves an execute_result, a display updated in place and a reported error, and runs on after it", function () {
    const spec = installTempKernelspec();
    const outDir = mkdtempSync(join(tmpdir(), "tokenlab-nbconvert-"));
    try {
      const run = spawnSync(
        SYSTEM_JUPYTER,
        ["nbconvert", "--to", "notebook", "--execute", "--allow-errors", "--output-dir", outDir, "--output", "executed", NOTEBOOK],
        { env: { ...process.env, JUPYTER_PATH: spec.jupyterPath }, encoding: "utf8", timeout: 180_000 },
      );
      assert.equal(run.status, 0, run.stderr);
      const executed = JSON.parse(readFileSync(join(outDir, "executed.ipynb"), "utf8")) as { cells: Array<{ outputs: SavedOutput[] }> };
      const [result, progress, failure, after] = executed.cells.map((cell) => cell.outputs);
      const plain = (output: SavedOutput) => [output.data?.["text/plain"] ?? []].flat().join("");

      assert.deepEqual(result.map((output) => [output.output_type, plain(output)]), [["execute_result", "'HELLO'"]]);
      // nbclient applies update_display_data to the output that carries the display id.
      assert.deepEqual(progress.map((output) => [output.output_type, plain(output)]), [["display_data", "'step 3'"]]);
      assert.equal(failure.length, 1);
      assert.equal(failure[0].output_type, "error");
      assert.equal(failure[0].ename, "TypeError");
      assert.equal(failure[0].evalue, "reported to the notebook");
      assert.ok(failure[0].traceback!.some((line) => /cell\[\d+\]:2/.test(line)), failure[0].traceback!.join("\n"));
      assert.deepEqual(after.map(plain), ["5"]);
    } finally {
      spec.cleanup();
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
