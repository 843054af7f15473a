/**
 * The PyTorch side of the benchmarks (torch_train_step.py) as a resident process answering one
 * command at a time, and the rule that keeps its figures honest: no ratio against a reference BLAS.
 */
import { spawn } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";

/** What torch_train_step.py reports about the BLAS library it loaded. */
export interface BlasReport {
  kind: string;
  libraries: string[];
  build_blas_info: string | null;
  matmul_gflops: number;
}

export interface TorchInfo {
  threads: number;
  torch_version: string;
  load_ms: number;
  blas: BlasReport;
  peak_rss_mb: number;
}

export interface TorchInit {
  dir: string;
  ids: number[][];
  labels: number[][];
  /** Rows trained by "new-rows-step" (PyTorch grows the embedding when they lie beyond it). */
  new_ids?: number[];
}

export interface TorchProcess {
  info: TorchInfo;
  /** Sends one command ("forward", "step", "new-rows-step") and returns its JSON answer. */
  ask(command: string): Promise<{ ms: number; loss?: number; peak_rss_mb: number; error?: string }>;
  close(): void;
}

/** Thread settings PyTorch is measured at: one thread and all cores (the faster one is its best). */
export function torchThreadSettings(): number[] {
  const cores = os.availableParallelism();
  return cores > 1 ? [1, cores] : [1];
}

export async function startTorch(init: TorchInit, threads: number): Promise<TorchProcess> {
  // OpenBLAS sizes its own thread pool from these variables, not from torch.set_num_threads.
  const threadEnv = { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const child = spawn("/usr/bin/python3", [path.join(__dirname, "torch_train_step.py")], {
    env: { ...process.env, ...threadEnv },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<string>((resolve) =>
    child.on("exit", (code, signal) => resolve(`the PyTorch process ended (${signal ?? `exit code ${code}`})`)),
  );
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const ask = async (line: string) => {
    child.stdin!.write(line + "\n");
    const answer = await lines.next();
    if (answer.done) throw new Error(await exited);
    return JSON.parse(answer.value);
  };
  const info: TorchInfo = await ask(JSON.stringify({ ...init, threads }));
  return { info, ask, close: () => child.stdin!.end() };
}

/**
 * Why a tokenlab/PyTorch ratio would mislead, or undefined when it is fair. Debian's python3-torch
 * installed without recommends runs on the netlib reference BLAS, 10–15× slower than OpenBLAS; a
 * ratio against it flatters tokenlab.
 */
export function ratioRefusal(blas: BlasReport): string | undefined {
  if (blas.kind !== "reference") return undefined;
  return (
    `PyTorch runs on the reference BLAS (${blas.libraries.join(", ")}: ${blas.matmul_gflops} GFLOP/s), ` +
    "not an optimized one; install libopenblas0-pthread (see .ci/run) and run again"
  );
}
