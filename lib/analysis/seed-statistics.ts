import { Table, type Cell } from "../display/table";
import { formatNumber } from "../display/text-format";

/**
 * Statistics over repeated runs (seeds). One run is an anecdote: a figure is reported as the mean with
 * the sample standard deviation, and a difference between two variants as the mean of the per-seed
 * differences (the variants share each seed's data order, so the comparison is paired) with its 95%
 * Student-t interval. A difference whose interval contains 0 is "within noise".
 */
export interface Interval {
  /** Finite values used (runs that never reached a figure are left out, and counted apart). */
  n: number;
  /** Values left out because they were not finite (e.g. a target never reached). */
  missing: number;
  mean: number;
  /** Sample standard deviation (n − 1); NaN below two values. */
  sd: number;
  /** 95% t interval of the mean: mean ± t(0.975, n − 1) · sd / √n; NaN below two values. */
  low: number;
  high: number;
}

/** Two-sided 95% quantiles t(0.975, df) for df = 1..30; beyond, the normal 1.96 is within 2%. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
  2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  return df < 1 ? NaN : df <= T_975.length ? T_975[df - 1] : 1.96;
}

/** Mean, sample sd and 95% t interval of the finite values. */
export function meanInterval(values: ReadonlyArray<number | undefined>): Interval {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  const n = finite.length;
  const mean = n > 0 ? finite.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(finite.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : NaN;
  const half = tQuantile975(n - 1) * (sd / Math.sqrt(n));
  return { n, missing: values.length - n, mean, sd, low: mean - half, high: mean + half };
}

/** The interval of a − b over the pairs (same seed) where both are finite. */
export function pairedDifference(a: ReadonlyArray<number | undefined>, b: ReadonlyArray<number | undefined>): Interval {
  const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  const differences = a.map((v, i) => (finite(v) && finite(b[i]) ? v - b[i]! : NaN));
  return meanInterval(differences);
}

/** True when the interval cannot tell the difference from 0 (it contains 0, or there are too few pairs). */
export function withinNoise(difference: Interval): boolean {
  return !(difference.low > 0 || difference.high < 0);
}

/** `mean ± sd`, with `(k/n reached)` when some runs gave no value. */
export function formatMeanSd(interval: Interval): string {
  const body = interval.n === 0 ? "—" : interval.n === 1 ? formatNumber(interval.mean) : `${formatNumber(interval.mean)} ± ${formatNumber(interval.sd)}`;
  return interval.missing > 0 ? `${body} (${interval.n}/${interval.n + interval.missing})` : body;
}

/** `mean [low, high]`: the 95% interval. */
export function formatInterval(interval: Interval, unit = ""): string {
  if (interval.n < 2) return interval.n === 1 ? `${formatNumber(interval.mean)}${unit} (one run)` : "—";
  return `${formatNumber(interval.mean)}${unit} [${formatNumber(interval.low)}, ${formatNumber(interval.high)}]`;
}

/** One variant's figures from one seed. */
export interface SeedRecord {
  variant: string;
  seed: number;
  values: Readonly<Record<string, number | undefined>>;
}

/**
 * A table with one row per variant and one `mean ± sd` cell per metric. Each cell of a variant other
 * than `reference` is marked ≈ when its paired difference with the reference is within noise.
 */
export function seedTable(records: readonly SeedRecord[], options: { metrics: readonly string[]; reference?: string; title: string; extraColumns?: Record<string, (variant: string) => Cell> }): Table {
  const variants = [...new Set(records.map((r) => r.variant))];
  const seeds = [...new Set(records.map((r) => r.seed))].sort((a, b) => a - b);
  const series = (variant: string, metric: string) => seeds.map((seed) => records.find((r) => r.variant === variant && r.seed === seed)?.values[metric]);
  const extra = Object.entries(options.extraColumns ?? {});
  const reference = options.reference;
  return new Table({
    title: `${options.title} — mean ± sd over ${seeds.length} seeds (${seeds.join(", ")})${reference ? `; ≈: within noise of ${reference} (95% paired t interval of the difference contains 0)` : ""}`,
    columns: ["variant", ...options.metrics, ...extra.map(([name]) => name)],
    rows: variants.map((variant) => [
      variant === reference ? `${variant} (reference)` : variant,
      ...options.metrics.map((metric) => {
        const values = series(variant, metric);
        const cell = formatMeanSd(meanInterval(values));
        if (reference === undefined || variant === reference) return cell;
        return withinNoise(pairedDifference(values, series(reference, metric))) ? `${cell} ≈` : cell;
      }),
      ...extra.map(([, column]) => column(variant)),
    ]),
  });
}
