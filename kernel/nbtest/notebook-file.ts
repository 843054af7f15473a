import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { NbtestError } from "./nbtest-error";

/** The parts of nbformat 4 that notebook tests read and write. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  metadata: { tags?: string[]; [key: string]: unknown };
  outputs?: Output[];
  execution_count?: number | null;
  [key: string]: unknown;
}

export type Output = StreamOutput | DataOutput | ErrorOutput;

export interface StreamOutput {
  output_type: "stream";
  name: string;
  text: string | string[];
}

export interface DataOutput {
  output_type: "display_data" | "execute_result";
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  execution_count?: number | null;
}

export interface ErrorOutput {
  output_type: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}

export function readNotebook(path: string): Notebook {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new NbtestError(`Cannot read notebook ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
  const notebook = parsed as Partial<Notebook>;
  if (notebook.nbformat !== 4 || !Array.isArray(notebook.cells)) {
    throw new NbtestError(`${path} is not an nbformat 4 notebook`, { path, nbformat: notebook.nbformat });
  }
  return parsed as Notebook;
}

/** Writes like nbformat does (sorted keys, one-space indent, multiline strings as line lists), atomically. */
export function writeNotebook(path: string, notebook: Notebook): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(sortKeys(notebook), null, 1)}\n`);
  renameSync(temp, path);
}

/** nbformat's multiline strings: stored either whole or as a list of lines; read both. */
export function joinText(text: string | string[] | unknown): string {
  return Array.isArray(text) ? text.join("") : String(text);
}

/** nbformat's "splitlines(keepends=True)". */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

export function cellSource(cell: NotebookCell): string {
  return joinText(cell.source);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}
