import { DisplayError } from "./display-error";
import { escapeHtml } from "./html-escape";
import { JUPYTER_DISPLAY, type MimeBundle } from "./mime-bundle";
import { formatNumber } from "./text-format";
import { maxOf } from "../runtime/large-arrays";

export type Cell = string | number | bigint | boolean | null | undefined;

export interface TableSpec {
  columns: string[];
  rows: Cell[][];
  title?: string;
}

/** A table that renders as an HTML table (all text escaped) and as aligned plain text. */
export class Table {
  readonly columns: string[];
  readonly rows: Cell[][];
  readonly title: string;

  constructor(spec: TableSpec) {
    spec.rows.forEach((row, index) => {
      if (row.length !== spec.columns.length) {
        throw new DisplayError(`Table row ${index} has ${row.length} cells but there are ${spec.columns.length} columns`, {
          row: index,
          columns: spec.columns,
        });
      }
    });
    this.columns = spec.columns;
    this.rows = spec.rows;
    this.title = spec.title ?? "";
  }

  /** Columns in first-seen key order; a missing key is an empty cell. */
  static fromRecords(records: Array<Record<string, Cell>>, title?: string): Table {
    const columns = [...new Set(records.flatMap((record) => Object.keys(record)))];
    return new Table({ columns, rows: records.map((record) => columns.map((column) => record[column])), title });
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.toHTML(), "text/plain": this.toString() };
  }

  toHTML(): string {
    const numeric = this.columns.map((_, c) => this.isNumericColumn(c));
    const align = (c: number): string => (numeric[c] ? ' style="text-align:right"' : "");
    const head = this.columns.map((name, c) => `<th${align(c)}>${escapeHtml(name)}</th>`).join("");
    const body = this.rows
      .map((row) => `<tr>${row.map((cell, c) => `<td${align(c)}>${escapeHtml(formatCell(cell))}</td>`).join("")}</tr>`)
      .join("\n");
    const caption = this.title ? `<caption>${escapeHtml(this.title)}</caption>` : "";
    return `<table class="tokenlab-table">${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
  }

  /** Aligned columns: numbers to the right, text to the left. */
  toString(): string {
    const text = [this.columns, ...this.rows.map((row) => row.map((cell) => formatCell(cell).replace(/\n/g, "⏎")))];
    const widths = this.columns.map((_, c) => maxOf(text.map((row) => row[c].length)));
    const numeric = this.columns.map((_, c) => this.isNumericColumn(c));
    const line = (row: string[]): string =>
      row.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ").trimEnd();
    const lines = [line(text[0]), widths.map((w) => "-".repeat(w)).join("  "), ...text.slice(1).map(line)];
    return (this.title ? [this.title, ...lines] : lines).join("\n");
  }

  private isNumericColumn(column: number): boolean {
    const cells = this.rows.map((row) => row[column]).filter((cell) => cell !== null && cell !== undefined);
    return cells.length > 0 && cells.every((cell) => typeof cell === "number" || typeof cell === "bigint");
  }
}

function formatCell(cell: Cell): string {
  if (cell === null || cell === undefined) return "";
  return typeof cell === "number" ? formatNumber(cell) : String(cell);
}
