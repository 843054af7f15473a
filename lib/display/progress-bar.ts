import { DisplayError } from "./display-error";
import { escapeHtml } from "./html-escape";
import { JUPYTER_DISPLAY, type MimeBundle } from "./mime-bundle";
import { formatDuration, formatNumber } from "./text-format";

export interface ProgressBarOptions {
  total: number;
  label?: string;
  /** what one step is called in the rate, e.g. "step" → "3.2 step/s" */
  unit?: string;
  /** milliseconds clock; tests pass a fake one */
  now?: () => number;
}

/**
 * A progress bar with rate and ETA, measured from construction. It is a value: redraw it in place by
 * passing it to a LiveDisplay after each `update`.
 */
export class ProgressBar {
  readonly total: number;
  readonly label: string;
  private readonly unit: string;
  private readonly now: () => number;
  private readonly startedAt: number;
  private done = 0;
  private metrics: Record<string, number | string> = {};

  constructor(options: ProgressBarOptions) {
    if (!(Number.isFinite(options.total) && options.total > 0)) {
      throw new DisplayError("ProgressBar needs a positive finite `total`", { total: options.total });
    }
    this.total = options.total;
    this.label = options.label ?? "";
    this.unit = options.unit ?? "it";
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
  }

  /** Sets the number of finished steps (clamped to [0, total]) and the metrics shown after the bar. */
  update(done: number, metrics?: Record<string, number | string>): this {
    this.done = Math.min(this.total, Math.max(0, done));
    if (metrics) this.metrics = metrics;
    return this;
  }

  advance(steps = 1, metrics?: Record<string, number | string>): this {
    return this.update(this.done + steps, metrics);
  }

  get completed(): number {
    return this.done;
  }

  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  /** steps per second so far; 0 before the first step */
  rate(): number {
    const elapsed = this.elapsedSeconds();
    return elapsed > 0 ? this.done / elapsed : 0;
  }

  /** seconds left at the rate so far; NaN while the rate is unknown */
  etaSeconds(): number {
    const rate = this.rate();
    return rate > 0 ? (this.total - this.done) / rate : Number.NaN;
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.toHTML(), "text/plain": this.toString() };
  }

  toString(): string {
    const width = 24;
    const filled = Math.round((this.done / this.total) * width);
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    return [this.label, `${this.percent()}%`, `|${bar}|`, this.status()].filter(Boolean).join(" ");
  }

  toHTML(): string {
    const label = this.label ? `<span class="tokenlab-progress-label">${escapeHtml(this.label)}</span> ` : "";
    return (
      `<div class="tokenlab-progress">${label}` +
      `<progress value="${this.done}" max="${this.total}" style="width:40%;vertical-align:middle"></progress> ` +
      `${this.percent()}% <code>${escapeHtml(this.status())}</code></div>`
    );
  }

  private percent(): number {
    return Math.floor((100 * this.done) / this.total);
  }

  private status(): string {
    const timing = `[${formatDuration(this.elapsedSeconds())}<${formatDuration(this.etaSeconds())}, ${formatNumber(this.rate())} ${this.unit}/s]`;
    const metrics = Object.entries(this.metrics)
      .map(([name, value]) => `${name}=${typeof value === "number" ? formatNumber(value) : value}`)
      .join(" ");
    return [`${formatNumber(this.done)}/${formatNumber(this.total)}`, timing, metrics].filter(Boolean).join(" ");
  }
}
