import { DisplayError } from "./display-error";
import { LIVE_FRAME } from "./live-frame";
import { JUPYTER_DISPLAY, type MimeBundle } from "./mime-bundle";
import { plotlyHtml, type PlotlySpec } from "./plotly-html";
import { formatNumber } from "./text-format";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** One plotly trace; any plotly.js attribute is allowed, these are the ones the summary reads. */
export interface PlotlyTrace {
  type?: string;
  name?: string;
  x?: ArrayLike<unknown>;
  y?: ArrayLike<unknown>;
  z?: ArrayLike<unknown>;
  [attribute: string]: unknown;
}

export interface FigureSpec {
  data: PlotlyTrace[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/**
 * A plotly figure that renders itself: `application/vnd.plotly.v1+json` for JupyterLab (with the
 * plotly extension) and VS Code, `text/html` with plotly.js embedded for exported HTML and frontends
 * without a plotly renderer, `text/plain` for consoles and notebook tests.
 */
export class Figure {
  readonly data: PlotlyTrace[];
  readonly layout: Record<string, unknown>;
  readonly config: Record<string, unknown>;

  constructor(spec: FigureSpec) {
    if (!Array.isArray(spec.data)) throw new DisplayError("Figure needs `data`, an array of plotly traces", { data: spec.data });
    this.data = spec.data;
    this.layout = spec.layout ?? {};
    this.config = { responsive: true, ...spec.config };
  }

  /** Plain JSON (typed arrays become arrays; NaN and ±Infinity become null, which plotly draws as a gap). */
  toJSON(): PlotlySpec {
    return JSON.parse(JSON.stringify({ data: this.data, layout: this.layout, config: this.config }, plainArrays)) as PlotlySpec;
  }

  /** A standalone HTML fragment: renders offline wherever scripts run. */
  toHTML(): string {
    return plotlyHtml(this.toJSON(), { embedLibrary: true, title: this.title() });
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return this.bundle(true);
  }

  [LIVE_FRAME](): MimeBundle {
    return this.bundle(false);
  }

  toString(): string {
    const lines = [`Figure${this.title() ? ` "${this.title()}"` : ""}: ${this.data.length} trace${this.data.length === 1 ? "" : "s"}`];
    this.data.forEach((trace, index) => lines.push(`  ${describeTrace(trace, index)}`));
    return lines.join("\n");
  }

  private bundle(embedLibrary: boolean): MimeBundle {
    const spec = this.toJSON();
    return {
      [PLOTLY_MIME]: spec,
      "text/html": plotlyHtml(spec, { embedLibrary, title: this.title() }),
      "text/plain": this.toString(),
    };
  }

  private title(): string {
    const title = this.layout.title;
    if (typeof title === "string") return title;
    if (typeof title === "object" && title !== null && typeof (title as { text?: unknown }).text === "string") {
      return (title as { text: string }).text;
    }
    return "";
  }
}

function plainArrays(_key: string, value: unknown): unknown {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) ? Array.from(value as unknown as ArrayLike<unknown>) : value;
}

function describeTrace(trace: PlotlyTrace, index: number): string {
  const name = trace.name ?? `trace ${index}`;
  const type = trace.type ?? "scatter";
  if (trace.y && trace.y.length > 0) {
    const last = trace.y.length - 1;
    const x = trace.x && trace.x.length > last ? trace.x[last] : last;
    return `${name} (${type}): ${trace.y.length} points, last ${formatValue(x)} → ${formatValue(trace.y[last])}`;
  }
  if (trace.z) return `${name} (${type}): ${trace.z.length} rows`;
  return `${name} (${type}): empty`;
}

function formatValue(value: unknown): string {
  return typeof value === "number" ? formatNumber(value) : String(value);
}
