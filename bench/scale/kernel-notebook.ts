/**
 * `npm run bench -- --scale --kernel [--shape NAME]`: notebook 05 (bring your own model) on a
 * real-size shape's checkpoint, executed cell by cell by nbclient — Jupyter's own client, what
 * JupyterLab's "Run all" and nbconvert use — in the tokenlab kernel. The flow a researcher runs from a
 * notebook: loadModel, addTokens, showTokens, initReport, prepareData + 30 new-rows steps, evaluate,
 * generate, saveModel. Prints each cell's seconds (from nbclient's timing metadata) and the kernel's
 * peak RSS, or the cell that failed and its error.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installTempKernelspec } from "../../test/kernel/kernel-fixture";

const NOTEBOOK = path.join(__dirname, "../../notebooks/05-bring-your-own-model.ipynb");
/** nbclient's per-cell limit: a 1.2B model's 30 training steps take ~6 minutes here. */
const CELL_TIMEOUT_S = 3600;

const RUNNER = String.raw`
import json, sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from datetime import datetime

notebook = nbformat.read(sys.argv[1], as_version=4)
# One more cell: the kernel process's peak RSS (Linux reports maxRSS in KiB).
notebook.cells.append(nbformat.v4.new_code_cell("Math.round(process.resourceUsage().maxRSS / 1024)"))
client = NotebookClient(notebook, kernel_name="tokenlab", timeout=int(sys.argv[2]), record_timing=True)
error = None

def seconds(cell):
    timing = cell.metadata.get("execution", {})
    begin, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if begin is None or end is None:
        return None
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return round((parse(end) - parse(begin)).total_seconds(), 3)

# Cell by cell, each cell's time on stderr as it ends: a long run shows how far it got.
with client.setup_kernel():
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        try:
            client.execute_cell(cell, index)
        except CellExecutionError as failure:
            error = str(failure)[-2000:]
            break
        print(json.dumps({"cell": cell.source.splitlines()[0][:80] if cell.source else "", "seconds": seconds(cell)}), file=sys.stderr, flush=True)

code = [cell for cell in notebook.cells if cell.cell_type == "code"]
cells = [{"cell": cell.source.splitlines()[0][:80] if cell.source else "", "seconds": seconds(cell)} for cell in code[:-1]]
last = code[-1].get("outputs", [])
peak = next((int(out["data"]["text/plain"]) for out in last if out.get("output_type") == "execute_result"), None)
print(json.dumps({"cells": cells, "kernel_peak_rss_mb": peak, "error": error}))
`;

export interface KernelNotebookFigures {
  cells: { cell: string; seconds: number | null }[];
  kernel_peak_rss_mb: number | null;
  error: string | null;
}

/** Runs notebook 05 on the checkpoint in `modelDir` (its saved copy goes to `${modelDir}-tokenlab`). */
export async function kernelNotebookFigures(modelDir: string): Promise<KernelNotebookFigures | { error: string }> {
  const spec = installTempKernelspec();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-bench-notebook-"));
  try {
    const output = await new Promise<string>((resolve, reject) => {
      // stderr passes through: the runner reports each cell as it ends.
      const runner = spawn("/usr/bin/python3", ["-c", RUNNER, NOTEBOOK, String(CELL_TIMEOUT_S)], {
        cwd: work,
        env: { ...process.env, JUPYTER_PATH: spec.jupyterPath, TOKENLAB_MODEL_DIR: modelDir },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let stdout = "";
      runner.stdout.on("data", (chunk) => (stdout += String(chunk)));
      runner.on("error", reject);
      runner.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`the nbclient runner exited with ${code}`))));
    });
    return JSON.parse(output.trim().split("\n").pop()!) as KernelNotebookFigures;
  } catch (error) {
    return { error: String(error) };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    spec.cleanup();
  }
}
