import { Figure, type PlotlyTrace } from "../display/figure";
import { maxOf, minOf } from "../runtime/large-arrays";
import { lossFluctuation } from "./loss-fluctuation";
import type { EvalRecord, RunEvent, StepRecord } from "./run-records";

/** Fixed colours of the loss and learning-rate lines (plotly's palette, so they look familiar). */
const COLOURS = { loss: "#888", newToken: "#d62728", other: "#1f77b4", eval: "#2ca02c", lr: "#9467bd" };
/**
 * Grad-norm groups get explicit colours too: left to plotly, a trace takes its palette colour by its
 * index, and the fifth trace (the first group) got the learning rate's purple.
 */
const GROUP_COLOURS = ["#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939"];

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
  const lrs = history.map((h) => h.lr);
  const data: PlotlyTrace[] = [
    line("loss", steps, history.map((h) => h.loss), "y", { line: { color: COLOURS.loss } }),
    line("loss on new-token targets", steps, history.map((h) => h.newTokenLoss), "y", { line: { color: COLOURS.newToken }, connectgaps: true }),
    line("loss on other targets", steps, history.map((h) => h.otherLoss), "y", { line: { color: COLOURS.other } }),
    line("eval loss", evals.map((e) => e.step), evals.map((e) => e.loss), "y", { mode: "lines+markers", line: { color: COLOURS.eval } }),
    ...groups.map((g, i) =>
      line(`grad norm ${g}`, steps, history.map((h) => h.gradNorms[g] ?? NaN), "y2", { line: { color: GROUP_COLOURS[i % GROUP_COLOURS.length] } }),
    ),
    line("learning rate", steps, lrs, "y3", { line: { color: COLOURS.lr } }),
  ];
  const shapes: Array<Record<string, unknown>> = events
    .filter((e) => e.kind === "unfreeze")
    .map((e) => ({ type: "line", xref: "x", yref: "paper", x0: e.step, x1: e.step, y0: 0, y1: 1, line: { dash: "dot", color: "#999" } }));
  const annotations: Array<Record<string, unknown>> = [];
  const fluctuation = vocabSize === undefined ? undefined : lossFluctuation(history.map((h) => h.newTokenLoss), vocabSize);
  if (fluctuation && fluctuation.alarms.length > 0) {
    for (const index of fluctuation.alarms) {
      const step = steps[index];
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: step - 0.5, x1: step + 0.5, y0: 0.45, y1: 1, fillcolor: COLOURS.newToken, opacity: 0.12, line: { width: 0 } });
    }
    annotations.push({
      xref: "paper", yref: "paper", x: 0, y: 1.0, xanchor: "left", yanchor: "bottom", showarrow: false, font: { color: COLOURS.newToken },
      text: `⚠ new-token loss fluctuates (spread ${fluctuation.max.toPrecision(2)}·ln V > ${fluctuation.threshold}) from step ${steps[fluctuation.alarms[0]]}: check the new rows' init / learning rate`,
    });
  }
  const gradNorms = history.flatMap((h) => Object.values(h.gradNorms));
  return new Figure({
    data,
    layout: {
      title: { text: title },
      height: 620,
      grid: { rows: 3, columns: 1, pattern: "coupled", roworder: "top to bottom" },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "loss" }, domain: [0.45, 1] },
      yaxis2: { title: { text: "grad norm" }, domain: [0.18, 0.4], ...logAxisTicks(gradNorms) },
      yaxis3: { title: { text: "lr" }, domain: [0, 0.13], ...learningRateAxis(lrs) },
      shapes,
      annotations,
      margin: { t: 50, r: 20 },
      legend: { orientation: "v" },
    },
  });
}

/**
 * A log axis labelled with whole numbers ("0.02", "5") rather than plotly's default, which on short
 * ranges writes only the leading digit ("2", "5") between decades; over more than two decades one
 * label per power of ten ("10⁻³") keeps the narrow panel legible.
 */
export function logAxisTicks(values: readonly number[]): Record<string, unknown> {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  const decades = positive.length > 0 ? Math.log10(maxOf(positive) / minOf(positive)) : 0;
  return decades > 2 ? { type: "log", dtick: 1, exponentformat: "power" } : { type: "log", tickformat: ".2~g", nticks: 4 };
}

/**
 * A constant learning rate would get plotly's default −0.5…1 range (the rate is a flat line at the
 * bottom edge, its value unreadable); centre it instead. Scheduled rates start the axis at zero,
 * where warmup and decay end. Small rates are written as 3e-4, not 0.0003.
 */
export function learningRateAxis(lrs: readonly number[]): Record<string, unknown> {
  const finite = lrs.filter(Number.isFinite);
  const ticks = { exponentformat: "e", tickformat: ".2~e", nticks: 3 };
  if (finite.length === 0) return ticks;
  const low = minOf(finite);
  const high = maxOf(finite);
  if (high > low) return { ...ticks, rangemode: "tozero" };
  const value = high;
  return { ...ticks, range: value === 0 ? [-1, 1] : [value - Math.abs(value) / 2, value + Math.abs(value) / 2], autorange: false };
}
