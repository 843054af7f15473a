import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { REPO_ROOT } from "./kernel-fixture";

const BIN = join(REPO_ROOT, "bin", "tokenlab.js");

/** Runs `tokenlab install ...args` as a user would; returns the kernelspec directory it reports. */
function install(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const printed = execFileSync(process.execPath, [BIN, "install", ...args], { encoding: "utf8", env });
  const reported = /installed kernelspec tokenlab in (.+)\n$/.exec(printed);
  assert.ok(reported, printed);
  return reported[1];
}

/** Width and height from a PNG's IHDR chunk, read by hand (independent of how the logo is made). */
function pngSize(path: string): [number, number] {
  const png = readFileSync(path);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${path} is a PNG`);
  assert.equal(png.subarray(12, 16).toString("latin1"), "IHDR");
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

function assertKernelspec(dir: string): void {
  const spec = JSON.parse(readFileSync(join(dir, "kernel.json"), "utf8")) as Record<string, unknown>;
  assert.equal(spec.display_name, "TypeScript (tokenlab)");
  assert.equal(spec.language, "typescript");
  assert.equal(spec.interrupt_mode, "message");
  assert.deepEqual(spec.argv, [process.execPath, BIN, "kernel", "--connection-file", "{connection_file}"]);
  assert.deepEqual(pngSize(join(dir, "logo-32x32.png")), [32, 32]);
  assert.deepEqual(pngSize(join(dir, "logo-64x64.png")), [64, 64]);
}

describe("tokenlab install (kernelspec)", function () {
  let scratch: string;
  beforeEach(function () {
    scratch = mkdtempSync(join(tmpdir(), "tokenlab-install-"));
  });
  afterEach(function () {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("--prefix DIR writes kernel.json and both logos to DIR/share/jupyter/kernels/tokenlab", function () {
    const dir = install(["--prefix", scratch]);
    assert.equal(dir, join(scratch, "share", "jupyter", "kernels", "tokenlab"));
    assertKernelspec(dir);
  });

  it("--user writes into JUPYTER_DATA_DIR/kernels/tokenlab", function () {
    const dataDir = join(scratch, "data");
    const dir = install(["--user"], { ...process.env, JUPYTER_DATA_DIR: dataDir });
    assert.equal(dir, join(dataDir, "kernels", "tokenlab"));
    assertKernelspec(dir);
  });

  it("--sys-prefix writes under sys.prefix of the python3 on PATH", function () {
    // A throwaway virtual environment is the python3 on PATH, so the real sys.prefix is never touched.
    const venv = join(scratch, "venv");
    execFileSync("python3", ["-m", "venv", "--without-pip", venv]);
    const python = join(venv, "bin", "python3");
    const sysPrefix = execFileSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).trim();
    assert.ok(sysPrefix.startsWith(scratch), `the venv's sys.prefix ${sysPrefix} is under the scratch dir`);
    const dir = install(["--sys-prefix"], { ...process.env, PATH: [join(venv, "bin"), process.env.PATH].join(delimiter) });
    assert.equal(dir, join(sysPrefix, "share", "jupyter", "kernels", "tokenlab"));
    assertKernelspec(dir);
    assert.ok(existsSync(join(sysPrefix, "share", "jupyter", "kernels", "tokenlab", "kernel.json")));
  });
});
