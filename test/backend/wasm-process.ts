import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");

/**
 * Runs `body` in a fresh node process after `initBackend("wasm")` (for what must not touch the test
 * process: uncaught errors, a heap filled to its end); returns its exit status, stdout and stderr.
 */
export function runAfterWasmInit(body: string): { status: number | null; stderr: string; stdout: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-wasm-process-"));
  try {
    const script = path.join(dir, "script.ts");
    const initBackend = JSON.stringify(path.join(ROOT, "lib/backend/init-backend"));
    fs.writeFileSync(script, `import { initBackend } from ${initBackend};\ninitBackend("wasm").then(() => {\n${body}\n});\n`);
    const result = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    return { status: result.status, stderr: result.stderr, stdout: result.stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
