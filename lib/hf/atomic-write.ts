import * as fs from "node:fs";
import * as path from "node:path";

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
 * Fills a whole directory atomically: `fill` writes into a fresh staging directory next to `dir`;
 * only when it returns is the staging directory swapped in for `dir`. An interrupted or failed save
 * leaves the previous `dir` (or nothing) — never a mix. Files already in `dir` that `fill` does not
 * write are carried over (e.g. a README next to the weights), except those named in `replaced`.
 */
export function replaceDirectoryAtomic(dir: string, fill: (stagingDir: string) => void, replaced: (name: string) => boolean): void {
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
