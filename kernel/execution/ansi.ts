/**
 * The ANSI colours of ipykernel's tracebacks, which every Jupyter frontend renders (classic UI,
 * JupyterLab, VS Code, nbconvert): the error name bold red, cell locations and the arrow at the
 * failing line green, the failing span on a red background.
 */
const RESET = "\x1b[0m";

export const ansi = {
  errorName: (text: string): string => `\x1b[1;31m${text}${RESET}`,
  location: (text: string): string => `\x1b[0;32m${text}${RESET}`,
  span: (text: string): string => `\x1b[1;41m${text}${RESET}`,
  caret: (text: string): string => `\x1b[1;31m${text}${RESET}`,
};

/** CSI sequences (colours, cursor moves) removed: what a reader sees, for comparing outputs. */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "");
}
