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
    throw new TokenlabError(`${dir} is the working directory ${cwd} or holds it, and a save replaces its target whole; name a new folder such as "./my-model"`, { dir });
  }
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) {
    throw new TokenlabError(`${dir} is a file, not a checkpoint directory; name a directory to save into`, { dir });
  }
}

/**
 * Fills a whole directory atomically: `fill` writes into a fresh staging directory next to `dir`;
 * only when it returns is the staging directory swapped in for `dir`. An interrupted or failed save
 * leaves the previous `dir` (or nothing) — never a mix. Files already in `dir` that `fill` does not
 * write are carried over (e.g. a README next to the weights), except those named in `replaced`.
 */
export function replaceDirectoryAtomic(dir: string, fill: (stagingDir: string) => void, replaced: (name: string) => boolean): void {
  checkTargetDirectory(dir);
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const stamp = `${process.pid}-${Date.now()}`;
  const staging = path.join(parent, `.${path.basename(dir)}.saving-${stamp}`);
  const previous = path.join(parent, `.${path.basename(dir)}.previous-${stamp}`);
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
