import * as fs from "node:fs";
import * as path from "node:path";
import { TokenlabError } from "../errors/tokenlab-error";

/** Writes a file via a temp file in the same directory and a rename, so readers never see half of it. */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  try {
    fs.writeFileSync(temp, content);
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * Refuses, before anything is written, a target a directory swap must not replace: an empty path
 * (it resolves to the working directory, and the staging copy would land in its parent), the working
 * directory or a folder holding it (swapping it would pull the directory out from under the process),
 * and an existing file.
 */
export function checkTargetDirectory(dir: string): void {
  if (typeof dir !== "string" || dir.trim() === "") {
    throw new TokenlabError(`no directory to save into (got ${JSON.stringify(dir)}); name one, such as "./my-model"`, { dir });
  }
  const target = path.resolve(dir);
  const cwd = process.cwd();
  if (cwd === target || cwd.startsWith(target.endsWith(path.sep) ? target : target + path.sep)) {
    throw new TokenlabError(`${JSON.stringify(dir)} is or holds the working directory ${cwd}; a save replaces its target whole, so name a new folder such as "./my-model"`, { dir });
  }
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) {
    throw new TokenlabError(`${dir} is a file, not a checkpoint directory; name a directory to save into`, { dir });
  }
}

/**
 * Set only by test/hf/atomic-write.test.ts: a directory swap then stops between its two renames (the
 * one moment the target name is missing), says so on stderr and waits, so the test can SIGKILL it there.
 */
const PAUSE_BETWEEN_RENAMES = "TOKENLAB_TEST_PAUSE_BETWEEN_RENAMES";

/**
 * Fills a whole directory atomically: `fill` writes into a fresh staging directory next to `dir`;
 * only when it returns is the staging directory swapped in for `dir`. An interrupted or failed save
 * leaves the previous `dir` (or nothing) — never a mix. Files already in `dir` that `fill` does not
 * write are carried over (e.g. a README next to the weights), except those named in `replaced`.
 * The swap is two renames (dir → .NAME.previous-*, staging → dir); a process killed between them
 * leaves `dir` missing, which the next save or read repairs (`recoverInterruptedSave`).
 */
export function replaceDirectoryAtomic(dir: string, fill: (stagingDir: string) => void, replaced: (name: string) => boolean): void {
  checkTargetDirectory(dir);
  recoverInterruptedSave(dir);
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const stamp = `${process.pid}-${Date.now()}`;
  const staging = leftoverPath(dir, "saving", stamp);
  const previous = leftoverPath(dir, "previous", stamp);
  fs.mkdirSync(staging);
  try {
    fill(staging);
    if (fs.existsSync(dir)) {
      for (const name of fs.readdirSync(dir)) {
        if (!replaced(name) && !fs.existsSync(path.join(staging, name))) {
          fs.cpSync(path.join(dir, name), path.join(staging, name), { recursive: true });
        }
      }
      fs.renameSync(dir, previous);
      if (process.env[PAUSE_BETWEEN_RENAMES]) {
        fs.writeSync(2, `${PAUSE_BETWEEN_RENAMES}: paused\n`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // forever: the test kills us here
      }
      fs.renameSync(staging, dir);
      fs.rmSync(previous, { recursive: true, force: true });
    } else {
      fs.renameSync(staging, dir);
    }
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(dir) && fs.existsSync(previous)) fs.renameSync(previous, dir);
    throw error;
  }
}

type LeftoverKind = "saving" | "previous";

/** `.NAME.saving-PID-MS` (staging) or `.NAME.previous-PID-MS` (the replaced directory), beside `dir`. */
function leftoverPath(dir: string, kind: LeftoverKind, stamp: string): string {
  const target = path.resolve(dir);
  return path.join(path.dirname(target), `.${path.basename(target)}.${kind}-${stamp}`);
}

/** The staging and previous folders of saves of `dir`, with the writer's pid and start time. */
function leftoversOf(dir: string): Array<{ path: string; kind: LeftoverKind; pid: number; time: number }> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return []; // a missing parent, or one that may be entered but not listed (mode 711): nothing to repair
  }
  return names.flatMap((name) => {
    const match = name.startsWith(prefix) ? /^(saving|previous)-(\d+)-(\d+)$/.exec(name.slice(prefix.length)) : null;
    return match ? [{ path: path.join(parent, name), kind: match[1] as LeftoverKind, pid: Number(match[2]), time: Number(match[3]) }] : [];
  });
}

/**
 * Repairs what a killed save left beside `dir`: if `dir` is missing, the newest `.NAME.previous-*`
 * folder is moved back (a kill between the two renames of the swap left the old files only there);
 * then staging and previous folders whose writer is gone are removed. A live writer's folders are
 * left alone — it is mid-save and removes them itself — and a previous folder is never removed
 * while `dir` is missing.
 */
export function recoverInterruptedSave(dir: string): void {
  const leftovers = leftoversOf(dir);
  const newestPrevious = leftovers.filter((l) => l.kind === "previous").sort((a, b) => b.time - a.time)[0];
  if (newestPrevious && !fs.existsSync(dir)) {
    try {
      fs.renameSync(newestPrevious.path, dir);
    } catch (cause) {
      // A concurrent writer may have completed its swap in the meantime; then there is nothing to restore.
      if (!fs.existsSync(dir)) {
        throw new TokenlabError(
          `${dir} is missing after an interrupted save, and its previous contents in ${newestPrevious.path} could not be moved back (${(cause as Error).message}); move that folder to ${dir} by hand`,
          { dir, previous: newestPrevious.path },
          { cause },
        );
      }
    }
  }
  const targetExists = fs.existsSync(dir);
  for (const leftover of leftovers) {
    if (leftover.kind === "previous" && !targetExists) continue;
    if (leftover.pid !== process.pid && isProcessAlive(leftover.pid)) continue;
    try {
      fs.rmSync(leftover.path, { recursive: true, force: true });
    } catch {
      // Only garbage is left behind (e.g. a read-only parent): reading the checkpoint must not fail over it.
    }
  }
}

/** Signal 0 tests for existence; EPERM means the process exists but belongs to another user. */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
