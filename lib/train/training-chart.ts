import { Figure, type PlotlyTrace } from "../display/figure";
import type { EvalRecord, RunEvent, StepRecord } from "./run-records";

/**
 * The live training chart: losses (all / new-token targets / other targets / eval) on top,
 * gradient norm per group (log scale) in the middle, learning rate at the bottom; unfreeze events
 * as dotted vertical lines.
 */
export function trainingChart(history: readonly StepRecord[], evals: readonly EvalRecord[], events: readonly RunEvent[], title = "training"): Figure {
  const steps = history.map((h) => h.step);
  const line = (name: string, x: number[], y: number[], axis: string, extra: Record<string, unknown> = {}): PlotlyTrace => ({
    type: "scatter",
    mode: "lines",
    name,
    x,
    y,
    xaxis: "x",
    yaxis: axis,
    ...extra,
  });
  const groups = [...new Set(history.flatMap((h) => Object.keys(h.gradNorms)))];
  const data: PlotlyTrace[] = [
    line("loss", steps, history.map((h) => h.loss), "y", { line: { color: "#888" } }),
    line("loss on new-token targets", steps, history.map((h) => h.newTokenLoss), "y", { line: { color: "#d62728" }, connectgaps: true }),
    line("loss on other targets", steps, history.map((h) => h.otherLoss), "y", { line: { color: "#1f77b4" } }),
    line("eval loss", evals.map((e) => e.step), evals.map((e) => e.loss), "y", { mode: "lines+markers", line: { color: "#2ca02c" } }),
    ...groups.map((g) => line(`grad norm ${g}`, steps, history.map((h) => h.gradNorms[g] ?? NaN), "y2")),
    line("learning rate", steps, history.map((h) => h.lr), "y3", { line: { color: "#9467bd" } }),
  ];
  const shapes = events
    .filter((e) => e.kind === "unfreeze")
    .map((e) => ({ type: "line", xref: "x", yref: "paper", x0: e.step, x1: e.step, y0: 0, y1: 1, line: { dash: "dot", color: "#999" } }));
  return new Figure({
    data,
    layout: {
      title: { text: title },
      height: 620,
      grid: { rows: 3, columns: 1, pattern: "coupled", roworder: "top to bottom" },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "loss" }, domain: [0.45, 1] },
      yaxis2: { title: { text: "grad norm" }, type: "log", domain: [0.18, 0.4] },
      yaxis3: { title: { text: "lr" }, domain: [0, 0.13] },
      shapes,
      margin: { t: 50, r: 20 },
      legend: { orientation: "v" },
    },
  });
}
