import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = resolve(__dirname, "../..");
const CLI = join(ROOT, "kernel/nbtest/cli.ts");
/** tsx's loader by absolute URL, so the child can run from any working directory */
const TSX = pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;

/** `node ARGS` in CWD (with `env` added to this process's environment); resolves with the exit code and stdout + stderr. */
export function runNode(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(process.execPath, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      done({ code: error ? Number(error.code) : 0, output: stdout + stderr });
    });
  });
}

/**
 * `tokenlab nbtest ARGS` in its own process, calling nbtestMain directly so a test exercises nbtest
 * itself rather than the bin's command wiring.
 */
export function runNbtest(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  const main = `require(${JSON.stringify(CLI)}).nbtestMain(process.argv.slice(1)).then((code) => process.exit(code))`;
  return runNode(["--import", TSX, "-e", main, "--", ...args], cwd, env);
}
