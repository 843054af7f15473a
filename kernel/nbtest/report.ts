import type { CellResult } from "./run-notebook";

/** A readable failure report for one notebook: cell number, the start of its source, the reason, the diff. */
export function formatReport(path: string, results: readonly CellResult[]): string {
  const count = (status: CellResult["status"]): number => results.filter((result) => result.status === status).length;
  const lines = [
    `${path}: ${count("passed")} passed, ${count("failed")} failed, ${count("changed") ? `${count("changed")} changed, ` : ""}${count("not compared")} ran without comparing, ${count("skipped")} skipped`,
  ];
  for (const result of results.filter((r) => r.status === "failed")) {
    const [headline, ...details] = (result.problem ?? "").split("\n");
    lines.push(`  ✗ cell ${result.index} ${headline}`, ...result.source.split("\n").slice(0, 3).map((line) => `    | ${line}`));
    lines.push(...details.map((line) => `    ${line}`));
    if (result.mismatch) {
      lines.push(`    ${result.mismatch.message}`, ...result.mismatch.diff.split("\n").map((line) => `    ${line}`));
    }
  }
  for (const result of results.filter((r) => r.status === "changed")) lines.push(`  ~ cell ${result.index}: ${result.mismatch?.message}`);
  return lines.join("\n");
}
