/**
 * `npm run bench:kernel`: how fast the kernel starts and answers a trivial cell, beside ipykernel on
 * the same machine in the same run (when /usr/bin/python3 has it). Prints one JSON object:
 * cold start (spawn → first kernel_info_reply, median of STARTS), the first cell right after
 * start (tokenlab loads TypeScript and builds its program after kernel_info, so this includes
 * what start-up deferred; median of STARTS) and the median round trip of `1 + 1`
 * (execute_request → execute_reply and idle, after WARMUP cells).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { KernelClient } from "../kernel/client/kernel-client";

const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const CELLS = Number(process.env.BENCH_CELLS ?? 40);
const WARMUP = 3;
const BIN = join(__dirname, "..", "bin", "tokenlab.js");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function measure(argv: string[], trivialCell: string) {
  const cwd = mkdtempSync(join(tmpdir(), "tokenlab-bench-kernel-"));
  const startMs: number[] = [];
  const firstCellMs: number[] = [];
  const cellMs: number[] = [];
  try {
    for (let run = 0; run < STARTS; run++) {
      const began = performance.now();
      const client = await KernelClient.start({ argv, cwd });
      startMs.push(performance.now() - began);
      const sentFirst = performance.now();
      await executeOk(client, trivialCell);
      firstCellMs.push(performance.now() - sentFirst);
      // Round trips on the last kernel only: the others measure start-up.
      if (run === STARTS - 1) {
        for (let cell = 0; cell < WARMUP + CELLS; cell++) {
          const sent = performance.now();
          await executeOk(client, trivialCell);
          if (cell >= WARMUP) cellMs.push(performance.now() - sent);
        }
      }
      await client.shutdown();
      await client.close();
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  return {
    cold_start_ms: Math.round(median(startMs)),
    first_cell_ms: Math.round(median(firstCellMs)),
    trivial_cell_ms: Number(median(cellMs).toFixed(2)),
  };
}

async function executeOk(client: KernelClient, code: string): Promise<void> {
  const { reply } = await client.execute(code);
  if ((reply.content as { status?: string }).status !== "ok") throw new Error(`${code} failed: ${JSON.stringify(reply.content)}`);
}

function hasIpykernel(): boolean {
  return spawnSync("/usr/bin/python3", ["-c", "import ipykernel"]).status === 0;
}

async function main() {
  const result: Record<string, unknown> = {
    starts: STARTS,
    cells: CELLS,
    tokenlab: await measure([process.execPath, BIN, "kernel", "--connection-file", "{connection_file}"], "1 + 1"),
  };
  if (hasIpykernel()) {
    result.ipykernel = await measure(["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "1 + 1");
  }
  console.log(JSON.stringify(result, null, 2));
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
