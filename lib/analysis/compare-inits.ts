import type { Example } from "../data/examples";
import { dataOptionsOf, isTrainingData, prepareData, type TrainingData } from "../data/prepare-data";
import { lineChart } from "../display/charts";
import type { Figure } from "../display/figure";
import { LiveDisplay } from "../display/live-display";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { ProgressBar } from "../display/progress-bar";
import { Table } from "../display/table";
import { optionChecks } from "../errors/option-checks";
import { TokenlabError } from "../errors/tokenlab-error";
import type { CausalLM } from "../models/causal-lm";
import { notebookHost } from "../runtime/notebook-host";
import { addTokens, type AddTokensOptions } from "../tokens/add-tokens";
import type { AddTokensResult } from "../tokens/add-tokens-result";
import { initReport, type InitReportRow } from "../tokens/init-report";
import { strategyLabel, type InitStrategy } from "../tokens/init-strategies";
import type { TokenSpec } from "../tokens/token-spec";
import type { Run, TrainResult } from "../train/run";
import type { StepRecord } from "../train/run-records";
import { lossFluctuation } from "../train/loss-fluctuation";
import { train } from "../train/train";
import { resolveOptions, type TrainOptions } from "../train/train-options";
import { maxOf } from "../runtime/large-arrays";
import { evaluate, type EvaluationMetrics } from "./evaluate";
import { formatInterval, meanInterval, seedTable, type Interval, type SeedRecord } from "./seed-statistics";

export interface CompareInitsOptions extends TrainOptions {
  /** New-token loss every variant is timed to (default: the highest final smoothed new-token loss, a level all reached). */
  targetLoss?: number;
  /** Reference texts for the initReport columns (default: up to 8 decoded training rows). */
  referenceTexts?: string[];
  /** Passed to addTokens (the `init` of each variant overrides theirs). */
  addTokensOptions?: Omit<AddTokensOptions, "init">;
  /**
   * Seeds each variant runs with: a count (default 3: `seed`, `seed` + 1, …) or the list. A seed changes
   * the data order (and the eval split, when `data` is not prepared yet) and any random init; every
   * variant sees the same seeds, so differences are compared seed by seed.
   */
  seeds?: number | readonly number[];
  /** The variant the others are compared with (default "random" when there is one, else the first). */
  reference?: string;
}

/** One run: a strategy with one seed. */
export interface InitVariant {
  name: string;
  strategy: InitStrategy;
  seed: number;
  added: AddTokensResult;
  run: Run;
  result: TrainResult;
  /** Exponential moving average (α = 0.3) of the per-step new-token loss. */
  smoothedNewTokenLoss: number[];
  /** evaluate() of the final model on the eval rows (emission F1 of each new token...). */
  evaluation: EvaluationMetrics;
}

/**
 * Trains each init strategy over several seeds — same tokens, data and steps — and compares them:
 * a live chart overlays the new-token loss curves as they come in; the result displays a table with,
 * per strategy, mean ± sd over the seeds of the initial new-token loss, steps to reach `targetLoss`,
 * final eval losses and the emission F1; the speed-up over the reference with its 95% interval;
 * ≈ marks a figure whose difference from the reference's is within noise; the largest fluctuation of
 * the new-token loss (loss-fluctuation.ts: above 0.25 the init is suspect); and initReport's figures
 * right after init (mass on the new tokens, KL(base ‖ extended), Hewitt's bound; first seed).
 * The caller owns the variants' models (`added.model`, `result.model`...); runs are disposed here.
 */
export async function compareInits(
  base: CausalLM,
  tokens: TokenSpec | TokenSpec[],
  strategies: readonly InitStrategy[] | Readonly<Record<string, InitStrategy>>,
  data: TrainingData | string | ReadonlyArray<string | Example>,
  options: CompareInitsOptions = {},
): Promise<InitComparison> {
  const named: Array<[string, InitStrategy]> = Array.isArray(strategies)
    ? strategies.map((s) => [strategyLabel(s), s])
    : Object.entries(strategies as Record<string, InitStrategy>);
  // compareInits' own options stay here; the rest are train's (which refuses keys it does not know).
  const { targetLoss, referenceTexts, addTokensOptions, seeds: seedOption, reference, ...trainOptions } = options;
  // Bad options fail here, before any variant is built or trained.
  const checks = optionChecks(TokenlabError, "compareInits option");
  checks.number("targetLoss", targetLoss);
  if (referenceTexts !== undefined && !(Array.isArray(referenceTexts) && referenceTexts.every((t) => typeof t === "string"))) {
    checks.fail("referenceTexts", "must be a list of strings", referenceTexts);
  }
  if (Array.isArray(seedOption)) {
    if (seedOption.length === 0 || !seedOption.every((s) => Number.isInteger(s))) checks.fail("seeds", "must be a count or a non-empty list of integers", seedOption);
  } else checks.number("seeds", seedOption as number | undefined, { integer: true, min: 1 });
  if (reference !== undefined && !named.some(([name]) => name === reference)) checks.fail("reference", `must be one of the variants (${named.map(([n]) => n).join(", ")})`, reference);
  resolveOptions(trainOptions);
  const first = options.seed ?? 0;
  const seeds: number[] = Array.isArray(seedOption) ? [...seedOption] : Array.from({ length: (seedOption as number | undefined) ?? 3 }, (_, i) => first + i);

  const live = new LiveDisplay({ minIntervalMs: 250 });
  const progressDisplay = new LiveDisplay({ minIntervalMs: 200 });
  const show = options.display ?? notebookHost() !== undefined;
  const steps = options.steps ?? 100;
  const progress = new ProgressBar({ total: steps * named.length * seeds.length, label: "compare inits", unit: "step" });
  const curves: Array<{ name: string; history: StepRecord[] }> = [];
  const variants: InitVariant[] = [];
  let initRows: readonly InitReportRow[] = [];
  try {
    seeds: for (const [seedIndex, seed] of seeds.entries()) {
      const added = named.map(([, strategy]) => addTokens(base, tokens, { ...addTokensOptions, seed, init: strategy }));
      // Every variant has the same tokenizer, so one preparation gives all of them identical rows.
      const prepared = isTrainingData(data) ? data : prepareData(added[0].model.tokenizer, data, { ...dataOptionsOf(options), seed });
      if (seedIndex === 0) {
        const texts = referenceTexts ?? prepared.train.slice(0, 8).map((row) => added[0].model.tokenizer.decode(row.inputIds));
        initRows = initReport(base, Object.fromEntries(named.map(([name], i) => [name, added[i]])), texts).rows;
      }
      for (const [index, [name, strategy]] of named.entries()) {
        const curve = { name: seeds.length > 1 ? `${name} (seed ${seed})` : name, history: [] as StepRecord[] };
        curves.push(curve);
        const done = (seedIndex * named.length + index) * steps;
        const run = train(added[index], prepared, {
          ...trainOptions,
          seed,
          display: false,
          onStep: (record) => {
            curve.history.push(record);
            options.onStep?.(record);
            if (!show) return;
            progressDisplay.update(progress.update(done + record.step, { variant: curve.name }));
            if (record.step % (options.displayEvery ?? 5) === 0) live.update(newTokenChart(curves));
          },
        });
        // A variant that fails (e.g. a non-finite loss) stays in the table with status "failed".
        const result = await run.then(
          (value) => value,
          () => run.result!,
        );
        run.dispose();
        const evaluation = evaluate({ model: result.model, newIds: added[index].newIds }, prepared).metrics;
        const smoothedNewTokenLoss = smooth(run.history.map((h) => h.newTokenLoss));
        variants.push({ name, strategy, seed, added: added[index], run, result, smoothedNewTokenLoss, evaluation });
        if (result.status === "stopped" || result.status === "interrupted") break seeds;
      }
    }
  } finally {
    if (show && curves.length > 0) live.update(newTokenChart(curves));
    live.close();
    progressDisplay.close();
  }
  return new InitComparison(variants, initRows, targetLoss, reference);
}

export class InitComparison {
  readonly targetLoss: number;
  /** The variant the others are compared with. */
  readonly reference: string;
  /** Strategy names, in the order given. */
  readonly names: readonly string[];

  constructor(
    /** Every run: each strategy once per seed. */
    readonly variants: readonly InitVariant[],
    readonly initRows: readonly InitReportRow[],
    targetLoss?: number,
    reference?: string,
  ) {
    this.targetLoss = targetLoss ?? maxOf(variants.map((v) => lastFinite(v.smoothedNewTokenLoss)));
    this.names = [...new Set(variants.map((v) => v.name))];
    this.reference = reference ?? (this.names.includes("random") ? "random" : this.names[0]);
  }

  /** The runs of one strategy, in seed order. */
  runsOf(name: string): InitVariant[] {
    return this.variants.filter((v) => v.name === name);
  }

  /** First step whose smoothed new-token loss is at or below the target (undefined if never). */
  stepsToTarget(variant: InitVariant): number | undefined {
    const index = variant.smoothedNewTokenLoss.findIndex((loss) => loss <= this.targetLoss);
    return index < 0 ? undefined : variant.run.history[index].step;
  }

  /**
   * Speed-up of `name` over the reference: per seed, the reference's steps to target divided by this
   * strategy's (same data order), then mean and 95% t interval over the seeds where both reached it.
   */
  speedUp(name: string): Interval {
    const reference = this.runsOf(this.reference);
    return meanInterval(this.runsOf(name).map((v) => {
      const other = reference.find((r) => r.seed === v.seed);
      const [mine, theirs] = [this.stepsToTarget(v), other && this.stepsToTarget(other)];
      return mine !== undefined && theirs !== undefined ? theirs / mine : NaN;
    }));
  }

  /** One record per run, with the figures the table aggregates. */
  records(): SeedRecord[] {
    return this.variants.map((v) => {
      const evals = v.result.evals;
      const last = evals[evals.length - 1];
      const f1s = v.evaluation.emissions.map((e) => e.f1).filter((f) => Number.isFinite(f));
      return {
        variant: v.name,
        seed: v.seed,
        values: {
          "initial new-token loss": evals.length > 0 ? evals[0].newTokenLoss : v.result.history[0]?.newTokenLoss,
          "steps to target": this.stepsToTarget(v) ?? NaN,
          "final eval loss": last?.loss,
          "final eval new-token loss": last?.newTokenLoss,
          "emission F1": f1s.length > 0 ? f1s.reduce((a, b) => a + b, 0) / f1s.length : NaN,
          "new-token loss fluctuation (max, ·ln V)": lossFluctuation(v.run.history.map((h) => h.newTokenLoss), v.added.model.tokenizer.size).max,
        },
      };
    });
  }

  table(): Table {
    const steps = this.variants[0]?.result.history.length ?? 0;
    return seedTable(this.records(), {
      title: `init comparison — same tokens, data and ${steps} steps; target new-token loss ${this.targetLoss.toPrecision(4)}`,
      metrics: ["initial new-token loss", "steps to target", "final eval loss", "final eval new-token loss", "emission F1", "new-token loss fluctuation (max, ·ln V)"],
      reference: this.reference,
      extraColumns: {
        [`speed-up vs ${this.reference} [95% CI]`]: (name) => formatInterval(this.speedUp(name), "×"),
        "mass on new (init)": (name) => this.initRows.find((r) => r.variant === name)?.newMassMean,
        "KL(base‖ext) at init": (name) => this.initRows.find((r) => r.variant === name)?.klMean,
        "log(1+n/V)": (name) => this.initRows.find((r) => r.variant === name)?.klBound,
      },
    });
  }

  chart(): Figure {
    const several = new Set(this.variants.map((v) => v.seed)).size > 1;
    return newTokenChart(this.variants.map((v) => ({ name: several ? `${v.name} (seed ${v.seed})` : v.name, history: [...v.run.history] })));
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const table = this.table();
    const chart = this.chart()[JUPYTER_DISPLAY]();
    return { "text/html": `${chart["text/html"]}\n${table.toHTML()}`, "text/plain": `${chart["text/plain"]}\n\n${table.toString()}` };
  }
}

function newTokenChart(curves: ReadonlyArray<{ name: string; history: readonly StepRecord[] }>): Figure {
  return lineChart(
    curves.map((c) => ({ name: c.name, x: c.history.map((h) => h.step), y: c.history.map((h) => h.newTokenLoss) })),
    { title: "loss on new-token targets, per init", xTitle: "step", yTitle: "new-token loss" },
  );
}

function smooth(values: readonly number[], alpha = 0.3): number[] {
  let ema = NaN;
  return values.map((v) => {
    if (Number.isFinite(v)) ema = Number.isNaN(ema) ? v : alpha * v + (1 - alpha) * ema;
    return ema;
  });
}

function lastFinite(values: readonly number[]): number {
  for (let i = values.length - 1; i >= 0; i--) if (Number.isFinite(values[i])) return values[i];
  return NaN;
}
