import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");
const SCRIPT = join(ROOT, "scripts/test-prerequisites.sh");

const listedPackages = readFileSync(join(ROOT, ".ci/apt-packages"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));

/**
 * Runs the pretest check with fake `dpkg` and `id` first on PATH: `dpkg -s` fails for `absent`,
 * and `id -u` says `uid`, so both the install path and the stop-with-a-command path are exercised
 * without touching the machine's packages.
 */
function runCheck(absent: string[], uid: number) {
  const bin = mkdtempSync(join(tmpdir(), "tokenlab-fake-bin-"));
  try {
    const fake = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    fake("dpkg", `case " ${absent.join(" ")} " in *" $2 "*) exit 1;; esac; exit 0`);
    fake("id", `echo ${uid}`);
    fake("apt-get", `echo "apt-get $*" >> ${join(bin, "apt-calls")}`);
    const result = spawnSync("bash", [SCRIPT], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      encoding: "utf8",
    });
    let aptCalls = "";
    try {
      aptCalls = readFileSync(join(bin, "apt-calls"), "utf8");
    } catch {
      // apt-get was never called
    }
    return { status: result.status, stderr: result.stderr, aptCalls };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

describe("npm test's prerequisite check (scripts/test-prerequisites.sh)", () => {
  it("lists the packages the tests call directly: PyTorch with OpenBLAS, Jupyter clients, chromium", () => {
    for (const pkg of ["python3-torch", "libopenblas0-pthread", "python3-nbclient", "python3-jupyter-kernel-test", "chromium"]) {
      assert.ok(listedPackages.includes(pkg), `${pkg} missing from .ci/apt-packages`);
    }
  });

  it("passes silently when every package is installed", () => {
    const { status, stderr, aptCalls } = runCheck([], 1000);
    assert.equal(status, 0, stderr);
    assert.equal(aptCalls, "");
  });

  it("without root, stops at once and names the exact install command for what is missing", () => {
    const { status, stderr, aptCalls } = runCheck(["python3-torch", "chromium"], 1000);
    assert.equal(status, 1);
    assert.match(stderr, /sudo apt-get install --no-install-recommends python3-torch chromium/);
    assert.equal(aptCalls, "");
  });

  it("as root, installs only the missing packages with apt-get", () => {
    const { status, stderr, aptCalls } = runCheck(["python3-numpy"], 0);
    assert.equal(status, 0, stderr);
    assert.match(aptCalls, /apt-get install -y -q --no-install-recommends python3-numpy\n/);
  });
});
