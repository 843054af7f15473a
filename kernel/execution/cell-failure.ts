import { inspect } from "node:util";
import type { Diagnostic } from "tslab/dist/converter";
import { ansi } from "./ansi";
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
  /** Maps an offset in the compiled cell text (after shorthand expansion) to an offset in `source`. */
  sourceOffset(offset: number): number;
}

/** Line and column (0-based) of an offset in `text`. */
function positionOf(text: string, offset: number): { line: number; character: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length - 1, character: before[before.length - 1].length };
}

/**
 * The cell line with the failing span highlighted in place (correct however the frontend wraps the
 * line), then a caret under its start for frontends and logs without colour.
 */
function pointAt(source: string, start: number, end: number): string[] {
  const { line, character } = positionOf(source, start);
  const text = source.split("\n")[line] ?? "";
  const spanEnd = Math.min(text.length, Math.max(character + 1, character + (end - start)));
  const marked = text.slice(0, character) + ansi.span(text.slice(character, spanEnd)) + text.slice(spanEnd);
  return [`${ansi.location("--> ")}${marked}`, `    ${" ".repeat(character)}${ansi.caret("^")}`];
}

export function compileFailure(diagnostics: readonly Diagnostic[], location: CellLocation): CellFailure {
  const traceback: string[] = [];
  let evalue = "";
  for (const diagnostic of diagnostics) {
    const error = ansi.errorName(`error TS${diagnostic.code}`);
    if (diagnostic.fileName) {
      const where = `${diagnostic.fileName}:${diagnostic.start.line + 1}:${diagnostic.start.character + 1}`;
      traceback.push(`${ansi.location(where)} - ${error}: ${diagnostic.messageText}`);
      evalue ||= `${where} ${diagnostic.messageText}`;
      continue;
    }
    const start = location.sourceOffset(diagnostic.start.offset);
    const end = location.sourceOffset(diagnostic.end.offset);
    const { line, character } = positionOf(location.source, start);
    const where = `${line + 1}:${character + 1}`;
    traceback.push(`${ansi.location(`${location.label}:${where}`)} - ${error}: ${diagnostic.messageText}`);
    traceback.push(...pointAt(location.source, start, end));
    evalue ||= `${where} ${diagnostic.messageText}`;
  }
  const ename = "TypeScriptError";
  traceback.push(`${ansi.errorName(ename)}: ${evalue}`);
  return { ename, evalue, traceback };
}

/** Turns anything a cell threw (or rejected with) into a failure whose frames point into cells. */
export function runtimeFailure(thrown: unknown, locations: ReadonlyMap<string, CellLocation>): CellFailure {
  if (!(thrown instanceof Error)) {
    return { ename: "Uncaught", evalue: inspect(thrown), traceback: [`${ansi.errorName("Uncaught")} ${inspect(thrown)}`] };
  }
  const ename = thrown.name || thrown.constructor?.name || "Error";
  const traceback = [`${ansi.errorName(ename)}: ${thrown.message}`];
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
  return [`    at ${name ? `${name} ` : ""}(${ansi.location(`${location.label}:${line + 1}`)})`, `${ansi.location("    --> ")}${text.trim()}`];
}
