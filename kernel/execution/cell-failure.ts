import { inspect } from "node:util";
import type { Diagnostic } from "tslab/dist/converter";
import { InterruptError } from "./interrupt-error";

/** What Jupyter needs to report a failed cell: iopub `error` and execute_reply content. */
export interface CellFailure {
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface CellLocation {
  /** Shown in tracebacks, e.g. "cell[3]". */
  label: string;
  source: string;
  /** Maps a 0-based line of the executed JavaScript to a 0-based cell line. */
  toSourceLine(compiledLine: number): number;
  /** The file name the executed script was compiled with (matches stack frames). */
  scriptName: string;
  /** Lines the wrapper adds before the compiled code. */
  wrapperLines: number;
  /** Number of compiled lines; frames outside them belong to the wrapper. */
  compiledLines: number;
}

function pointAt(source: string, line: number, character: number): string[] {
  const text = source.split("\n")[line] ?? "";
  return [`    ${text}`, `    ${" ".repeat(character)}^`];
}

export function compileFailure(diagnostics: readonly Diagnostic[], location: CellLocation): CellFailure {
  const traceback: string[] = [];
  for (const diagnostic of diagnostics) {
    const where = diagnostic.fileName ?? location.label;
    traceback.push(
      `${where}:${diagnostic.start.line + 1}:${diagnostic.start.character + 1} - error TS${diagnostic.code}: ${diagnostic.messageText}`,
    );
    if (!diagnostic.fileName) traceback.push(...pointAt(location.source, diagnostic.start.line, diagnostic.start.character));
  }
  const first = diagnostics[0];
  return {
    ename: "TypeScriptError",
    evalue: `${first.start.line + 1}:${first.start.character + 1} ${first.messageText}`,
    traceback,
  };
}

/** Turns anything a cell threw (or rejected with) into a failure whose frames point into cells. */
export function runtimeFailure(thrown: unknown, locations: ReadonlyMap<string, CellLocation>): CellFailure {
  if (!(thrown instanceof Error)) {
    return { ename: "Uncaught", evalue: inspect(thrown), traceback: [`Uncaught ${inspect(thrown)}`] };
  }
  const ename = thrown.name || thrown.constructor?.name || "Error";
  const traceback = [`${ename}: ${thrown.message}`];
  // The kernel makes interrupts; their stack is the kernel's, not the cell's.
  if (thrown instanceof InterruptError) return { ename, evalue: thrown.message, traceback };
  const frames = (thrown.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
  for (const frame of frames) {
    const cellFrame = rewriteCellFrame(frame, locations);
    if (cellFrame) traceback.push(...cellFrame);
    else if (cellFrame === undefined && !isKernelFrame(frame)) traceback.push(frame);
  }
  return { ename, evalue: thrown.message, traceback };
}

/** Frames of the kernel's own machinery (vm, the executor, Node internals) mean nothing to users. */
function isKernelFrame(frame: string): boolean {
  return /node:(internal|vm)|[\\/]kernel[\\/](execution|handler)[\\/]/.test(frame);
}

/** A cell frame as cell positions; null for the wrapper's own line; undefined if not a cell frame. */
function rewriteCellFrame(frame: string, locations: ReadonlyMap<string, CellLocation>): string[] | null | undefined {
  const match = /^(\s+at (?:.*? \()?)(.+?):(\d+):(\d+)(\)?)$/.exec(frame);
  if (!match) return undefined;
  const location = locations.get(match[2]);
  if (!location) return undefined;
  const compiledLine = Number(match[3]) - 1 - location.wrapperLines;
  if (compiledLine < 0 || compiledLine >= location.compiledLines) return null;
  const line = location.toSourceLine(compiledLine);
  const text = location.source.split("\n")[line] ?? "";
  const name = match[1].replace(/^\s+at /, "").replace(/ \($/, "");
  return [`    at ${name ? `${name} ` : ""}(${location.label}:${line + 1})`, `        ${text.trim()}`];
}
