import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KernelClient } from "../../kernel/client/kernel-client";
import type { JupyterMessage } from "../../kernel/protocol/message";

export const REPO_ROOT = join(__dirname, "..", "..");
const BIN = join(REPO_ROOT, "bin", "tokenlab.js");

/**
 * Installs the kernelspec into a temp prefix with the real CLI (never the user's Jupyter dirs)
 * and tells real Jupyter clients to look there through JUPYTER_PATH. `cleanup()` removes it.
 */
export function installTempKernelspec(): { prefix: string; jupyterPath: string; argv: string[]; cleanup(): void } {
  const prefix = mkdtempSync(join(tmpdir(), "tokenlab-kernelspec-"));
  execFileSync(process.execPath, [BIN, "install", "--prefix", prefix]);
  const jupyterPath = join(prefix, "share", "jupyter");
  const spec = JSON.parse(readFileSync(join(jupyterPath, "kernels", "tokenlab", "kernel.json"), "utf8")) as { argv: string[] };
  return { prefix, jupyterPath, argv: spec.argv, cleanup: () => rmSync(prefix, { recursive: true, force: true }) };
}

/** Starts the kernel exactly as the installed kernelspec says, in `cwd`. */
export async function startKernel(cwd: string): Promise<{ client: KernelClient; cleanup(): Promise<void> }> {
  const spec = installTempKernelspec();
  const client = await KernelClient.start({ argv: spec.argv, cwd });
  return {
    client,
    cleanup: async () => {
      await client.kill();
      spec.cleanup();
    },
  };
}

export function ofType(outputs: JupyterMessage[], msgType: string): JupyterMessage[] {
  return outputs.filter((message) => message.header.msg_type === msgType);
}

export function textOf(outputs: JupyterMessage[], msgType = "execute_result"): string | undefined {
  const [first] = ofType(outputs, msgType);
  return (first?.content as { data?: Record<string, string> } | undefined)?.data?.["text/plain"];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until the request `msgId` has published an iopub message of `msgType` (e.g. a cell's first stream). */
export async function waitForOutput(client: KernelClient, msgId: string, msgType: string): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 50) {
    if (client.iopubSoFar(msgId).some((m) => m.header.msg_type === msgType)) return;
    await sleep(50);
  }
  throw new Error(`no ${msgType} for the cell`);
}
