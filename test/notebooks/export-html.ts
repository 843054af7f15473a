import { execFileSync } from "node:child_process";
import { basename, join } from "node:path";

/** Converts an executed notebook to HTML with Debian's nbconvert (lab template); returns the file's path. */
export function exportHtml(notebookPath: string, outputDir: string): string {
  execFileSync("/usr/bin/jupyter", ["nbconvert", "--to", "html", "--output-dir", outputDir, notebookPath], { stdio: "pipe" });
  return join(outputDir, basename(notebookPath).replace(/\.ipynb$/, ".html"));
}

/** Trace counts of the plotly outputs of a notebook, in document order (the saved JSON is the truth). */
export function plotlyTraceCounts(notebook: { cells: Array<{ outputs?: Array<{ data?: Record<string, unknown> }> }> }): number[] {
  return notebook.cells.flatMap((cell) =>
    (cell.outputs ?? [])
      .map((output) => output.data?.["application/vnd.plotly.v1+json"] as { data: unknown[] } | undefined)
      .filter((spec): spec is { data: unknown[] } => spec !== undefined)
      .map((spec) => spec.data.length),
  );
}

/**
 * Trace counts of the tokenlab charts in an exported page, in page order, read from the figure JSON
 * each chart's inline script passes to plotly (one output may hold several charts, e.g. a drift plot).
 */
export function chartTraceCountsInHtml(html: string): number[] {
  return [...html.matchAll(/\("[0-9a-f]{16}", ([^\n]*)\);\n<\/script>/g)].map((match) => (JSON.parse(match[1]) as { data: unknown[] }).data.length);
}
