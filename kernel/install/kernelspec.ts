import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KernelspecInstallError } from "./kernelspec-install-error";
import { logoPng } from "./logo-png";

export const KERNEL_NAME = "tokenlab";

export type InstallTarget = { kind: "user" } | { kind: "sys-prefix" } | { kind: "prefix"; dir: string };

/** The kernel.json Jupyter reads: absolute node and bin paths, so no PATH lookup is needed. */
export function kernelspec(binPath: string): Record<string, unknown> {
  return {
    argv: [process.execPath, binPath, "kernel", "--connection-file", "{connection_file}"],
    display_name: "TypeScript (tokenlab)",
    language: "typescript",
    interrupt_mode: "message",
    metadata: { debugger: false },
  };
}

/** Where Jupyter looks for kernels of this target (jupyter_core's rules). */
export function kernelsDir(target: InstallTarget): string {
  switch (target.kind) {
    case "prefix":
      return join(target.dir, "share", "jupyter", "kernels");
    case "sys-prefix":
      return join(pythonSysPrefix(), "share", "jupyter", "kernels");
    case "user":
      return join(userDataDir(), "kernels");
  }
}

function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === "darwin") return join(homedir(), "Library", "Jupyter");
  if (process.platform === "win32") return join(process.env.APPDATA ?? homedir(), "jupyter");
  return join(process.env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "jupyter");
}

function pythonSysPrefix(): string {
  for (const python of ["python3", "python"]) {
    try {
      return execFileSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).trim();
    } catch {
      // try the next name
    }
  }
  throw new KernelspecInstallError("--sys-prefix needs a python on PATH to find sys.prefix");
}

/** Writes kernel.json and the logos into <kernels>/tokenlab; returns that directory. */
export function installKernelspec(target: InstallTarget, binPath: string): string {
  const dir = join(kernelsDir(target), KERNEL_NAME);
  try {
    mkdirSync(dir, { recursive: true });
    writeAtomically(join(dir, "kernel.json"), JSON.stringify(kernelspec(binPath), null, 2) + "\n");
    writeAtomically(join(dir, "logo-32x32.png"), logoPng(32));
    writeAtomically(join(dir, "logo-64x64.png"), logoPng(64));
  } catch (cause) {
    throw new KernelspecInstallError("cannot write the kernelspec", { dir }, { cause });
  }
  return dir;
}

function writeAtomically(path: string, data: string | Buffer): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}
