import { DisplayError } from "./display-error";
import { Figure, type PlotlyTrace } from "./figure";

/** One named series; `x` defaults to 0, 1, 2, … */
export interface Series {
  name: string;
  x?: ArrayLike<number | string>;
  y: ArrayLike<number>;
  /** hover labels (scatterChart shows them next to the markers) */
  text?: ArrayLike<string>;
}

export interface ChartOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logY?: boolean;
  height?: number;
}

/** Lines with markers, one per series — loss curves, learning rate, gradient norms. */
export function lineChart(series: Series[], options: ChartOptions = {}): Figure {
  return new Figure({ data: series.map((s) => trace(s, { type: "scatter", mode: "lines" })), layout: layout(options) });
}

/** Markers with their text labels — e.g. a 2-D projection of embeddings. */
export function scatterChart(series: Series[], options: ChartOptions = {}): Figure {
  return new Figure({
    data: series.map((s) => trace(s, { type: "scatter", mode: s.text ? "markers+text" : "markers", textposition: "top center" })),
    layout: layout(options),
  });
}

/** Grouped bars: one bar per category and series. */
export function barChart(categories: string[], series: Array<{ name: string; values: ArrayLike<number> }>, options: ChartOptions = {}): Figure {
  return new Figure({
    data: series.map((s) => trace({ name: s.name, x: categories, y: s.values }, { type: "bar" })),
    layout: { ...layout(options), barmode: "group" },
  });
}

function trace(series: Series, style: Record<string, unknown>): PlotlyTrace {
  if (series.x && series.x.length !== series.y.length) {
    throw new DisplayError(`Series "${series.name}" has ${series.x.length} x values but ${series.y.length} y values`, {
      series: series.name,
    });
  }
  const x = series.x ? Array.from(series.x) : Array.from({ length: series.y.length }, (_, i) => i);
  const text = series.text ? { text: Array.from(series.text) } : {};
  return { ...style, name: series.name, x, y: Array.from(series.y), ...text };
}

function layout(options: ChartOptions): Record<string, unknown> {
  return {
    ...(options.title ? { title: { text: options.title } } : {}),
    xaxis: { title: { text: options.xTitle ?? "" } },
    yaxis: { title: { text: options.yTitle ?? "" }, ...(options.logY ? { type: "log" } : {}) },
    ...(options.height ? { height: options.height } : {}),
    margin: { t: options.title ? 50 : 20, r: 20 },
  };
}
