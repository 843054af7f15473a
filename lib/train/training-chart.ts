import { Figure, type PlotlyTrace } from "../display/figure";
import { lossFluctuation } from "./loss-fluctuation";
import type { EvalRecord, RunEvent, StepRecord } from "./run-records";

/**
 * The live training chart: losses (all / new-token targets / other targets / eval) on top,
 * gradient norm per group (log scale) in the middle, learning rate at the bottom; unfreeze events
 * as dotted vertical lines. Steps where the new-token loss fluctuates above the threshold (see
 * loss-fluctuation.ts; `vocabSize` sets its scale) are shaded red, with a warning over the chart.
 */
export function trainingChart(
  history: readonly StepRecord[],
  evals: readonly EvalRecord[],
  events: readonly RunEvent[],
  title = "training",
  vocabSize?: number,
): Figure {
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
  const shapes: Array<Record<string, unknown>> = events
    .filter((e) => e.kind === "unfreeze")
    .map((e) => ({ type: "line", xref: "x", yref: "paper", x0: e.step, x1: e.step, y0: 0, y1: 1, line: { dash: "dot", color: "#999" } }));
  const annotations: Array<Record<string, unknown>> = [];
  const fluctuation = vocabSize === undefined ? undefined : lossFluctuation(history.map((h) => h.newTokenLoss), vocabSize);
  if (fluctuation && fluctuation.alarms.length > 0) {
    for (const index of fluctuation.alarms) {
      const step = steps[index];
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: step - 0.5, x1: step + 0.5, y0: 0.45, y1: 1, fillcolor: "#d62728", opacity: 0.12, line: { width: 0 } });
    }
    annotations.push({
      xref: "paper", yref: "paper", x: 0, y: 1.0, xanchor: "left", yanchor: "bottom", showarrow: false, font: { color: "#d62728" },
      text: `⚠ new-token loss fluctuates (spread ${fluctuation.max.toPrecision(2)}·ln V > ${fluctuation.threshold}) from step ${steps[fluctuation.alarms[0]]}: check the new rows' init / learning rate`,
    });
  }
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
      annotations,
      margin: { t: 50, r: 20 },
      legend: { orientation: "v" },
    },
  });
}
