import { dirname, resolve } from "node:path";
import { KernelClient } from "../client/kernel-client";
import { cellOptions } from "./cell-options";
import { compareOutputs, type Mismatch } from "./compare-outputs";
import { cellSource, type Notebook, type Output } from "./notebook-file";
import { OutputCollector } from "./output-collector";
import type { Sanitizer } from "./sanitizers";

export interface RunOptions {
  lax: boolean;
  sanitizers: readonly Sanitizer[];
  /** per cell, seconds */
  timeoutSeconds: number;
  /** how to start the kernel; "{connection_file}" is substituted (default: this checkout's bin/tokenlab.js) */
  kernelArgv?: string[];
}

/** "changed" only with --update: the outputs differed and were rewritten. */
export type CellStatus = "passed" | "failed" | "changed" | "skipped" | "not compared";

export interface CellResult {
  index: number;
  status: CellStatus;
  source: string;
  /** why it failed: an unexpected error, a timeout, or differing outputs */
  problem?: string;
  mismatch?: Mismatch;
  /** fresh outputs, for --update; absent for skipped cells */
  outputs?: Output[];
  executionCount?: number;
}

const DEFAULT_KERNEL_ARGV = [process.execPath, resolve(__dirname, "../../bin/tokenlab.js"), "kernel", "--connection-file", "{connection_file}"];

export interface NotebookRun {
  cells: CellResult[];
  /** kernel_info_reply's language_info: --update saves it, so opening the notebook does not mark it modified */
  languageInfo: Record<string, unknown>;
}

/** Runs every code cell in one fresh kernel (working directory: the notebook's folder) and checks it. */
export async function runNotebook(path: string, notebook: Notebook, options: RunOptions): Promise<NotebookRun> {
  const client = await KernelClient.start({ argv: options.kernelArgv ?? DEFAULT_KERNEL_ARGV, cwd: dirname(resolve(path)) });
  const collector = new OutputCollector();
  const results: CellResult[] = [];
  let languageInfo: Record<string, unknown>;
  try {
    const info = await client.request("shell", "kernel_info_request", {});
    languageInfo = (info.content.language_info ?? {}) as Record<string, unknown>;
    for (const [index, cell] of notebook.cells.entries()) {
      if (cell.cell_type !== "code") continue;
      const source = cellSource(cell);
      const cellOption = cellOptions(cell, options.lax);
      if (cellOption.skip) {
        results.push({ index, status: "skipped", source });
        continue;
      }
      let executed: Awaited<ReturnType<KernelClient["execute"]>>;
      try {
        executed = await client.execute(source, { allow_stdin: false }, options.timeoutSeconds * 1000);
      } catch (error) {
        // The kernel's state is unknown now; later cells would only report follow-on failures.
        results.push({ index, source, status: "failed", problem: `did not finish within ${options.timeoutSeconds} s (${(error as Error).message})` });
        break;
      }
      const { reply, outputs: messages } = executed;
      const outputs = collector.collect(messages);
      const error = outputs.find((output) => output.output_type === "error");
      const executionCount = reply.content.execution_count as number | undefined;
      const base = { index, source, outputs, executionCount };
      if (error && !cellOption.raisesException) {
        results.push({ ...base, status: "failed", problem: `raised ${error.ename}: ${error.evalue}\n${error.traceback.join("\n")}` });
      } else if (!cellOption.compare) {
        results.push({ ...base, status: "not compared" });
      } else {
        const mismatch = compareOutputs(cell.outputs ?? [], outputs, options.sanitizers);
        results.push({ ...base, status: mismatch ? "failed" : "passed", mismatch, problem: mismatch ? "outputs differ" : undefined });
      }
    }
  } finally {
    await client.shutdown().catch(() => client.kill());
  }
  return { cells: results, languageInfo };
}
