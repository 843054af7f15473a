import * as path from "node:path";
import type { EvaluationReport } from "../analysis/evaluate";
import { plotDrift } from "../analysis/plot-drift";
import { escapeHtml } from "../display/html-escape";
import { keepFirstOnceAssets } from "../display/plotly-html";
import { JUPYTER_DISPLAY, type Displayable } from "../display/mime-bundle";
import { writeFileAtomic } from "../hf/atomic-write";
import type { Run } from "../train/run";

/**
 * The files a headless run leaves in its output folder (besides the model and the saved state):
 * the run records as JSON Lines and CSV, the final evaluation as JSON and a self-contained HTML report.
 */
export const RECORD_FILES = {
  steps: "steps.jsonl",
  stepsCsv: "steps.csv",
  evals: "evals.jsonl",
  evalsCsv: "evals.csv",
  events: "events.jsonl",
  evaluation: "evaluation.json",
  report: "report.html",
} as const;

/** Per-step records (loss split, learning rate, gradient norms), evals and events; each file atomically. */
export function writeRecords(dir: string, run: Run): void {
  const groups = [...new Set(run.history.flatMap((h) => Object.keys(h.gradNorms)))];
  const write = (name: string, text: string) => writeFileAtomic(path.join(dir, name), text);
  write(RECORD_FILES.steps, jsonLines(run.history));
  write(
    RECORD_FILES.stepsCsv,
    csv(
      ["step", "loss", "newTokenLoss", "otherLoss", "lr", "gradNorm", ...groups.map((g) => `gradNorm.${g}`), "seconds"],
      run.history.map((h) => [h.step, h.loss, h.newTokenLoss, h.otherLoss, h.lr, h.gradNorm, ...groups.map((g) => h.gradNorms[g]), h.seconds]),
    ),
  );
  write(RECORD_FILES.evals, jsonLines(run.evals));
  write(RECORD_FILES.evalsCsv, csv(["step", "loss", "newTokenLoss", "otherLoss"], run.evals.map((e) => [e.step, e.loss, e.newTokenLoss, e.otherLoss])));
  write(RECORD_FILES.events, jsonLines(run.events));
}

export function writeEvaluation(dir: string, report: EvaluationReport): void {
  writeFileAtomic(path.join(dir, RECORD_FILES.evaluation), `${JSON.stringify(report.metrics, finiteOrNull, 2)}\n`);
}

/**
 * The notebook's views of the run on one offline page: the experiment, the added tokens, the
 * training chart and summary, embedding drift and the evaluation tables.
 */
export function writeReport(dir: string, parts: { title: string; experimentYaml: string; tokens?: Displayable; run: Run; evaluation?: EvaluationReport }): void {
  const { run } = parts;
  const sections: string[] = [`<h1>${escapeHtml(parts.title)}</h1>`, `<p>status: <b>${escapeHtml(run.status)}</b> after ${run.completedSteps} steps</p>`];
  sections.push(`<h2>experiment</h2><pre>${escapeHtml(parts.experimentYaml)}</pre>`);
  if (parts.tokens) sections.push(`<h2>added tokens</h2>${parts.tokens[JUPYTER_DISPLAY]()["text/html"]}`);
  sections.push(`<h2>training</h2>${run[JUPYTER_DISPLAY]()["text/html"]}`);
  if (run.newIds.length > 0 && run.drift.checkpoints.length > 1) sections.push(`<h2>embedding drift</h2>${plotDrift(run)[JUPYTER_DISPLAY]()["text/html"]}`);
  if (parts.evaluation) sections.push(`<h2>evaluation</h2>${parts.evaluation[JUPYTER_DISPLAY]()["text/html"]}`);
  const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(parts.title)}</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:0 12px}pre{background:#f4f4f4;padding:8px;overflow:auto}table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right}</style>
</head><body>
${keepFirstOnceAssets(sections.join("\n"))}
</body></html>
`;
  writeFileAtomic(path.join(dir, RECORD_FILES.report), html);
}

/** One JSON object per line; NaN and ±Infinity (a batch without new-token targets) become null. */
function jsonLines(records: readonly object[]): string {
  return records.map((record) => JSON.stringify(record, finiteOrNull)).join("\n") + (records.length > 0 ? "\n" : "");
}

function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}

/** RFC 4180 CSV; numbers in full precision (NaN written as NaN, which pandas and R read as missing). */
function csv(columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<number | undefined>>): string {
  const cell = (value: string | number | undefined) => (value === undefined ? "" : /[",\n]/.test(String(value)) ? `"${String(value).replace(/"/g, '""')}"` : String(value));
  return [columns, ...rows].map((row) => row.map(cell).join(",")).join("\n") + "\n";
}
