import { writeSync } from "node:fs";

/** Kernel diagnostics go straight to fd 2, past the stdio capture that feeds cell output. */
export function kernelLog(line: string): void {
  writeSync(2, `[tokenlab kernel] ${line}\n`);
}
