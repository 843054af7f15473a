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
import { train } from "../train/train";
import { resolveOptions, type TrainOptions } from "../train/train-options";
import { maxOf } from "../runtime/large-arrays";

export interface CompareInitsOptions extends TrainOptions {
  /** New-token loss every variant is timed to (default: the highest final smoothed new-token loss, a level all reached). */
  targetLoss?: number;
  /** Reference texts for the initReport columns (default: up to 8 decoded training rows). */
  referenceTexts?: string[];
  /** Passed to addTokens (the `init` of each variant overrides theirs). */
  addTokensOptions?: Omit<AddTokensOptions, "init">;
}

export interface InitVariant {
  name: string;
  strategy: InitStrategy;
  added: AddTokensResult;
  run: Run;
  result: TrainResult;
  /** Exponential moving average (α = 0.3) of the per-step new-token loss. */
  smoothedNewTokenLoss: number[];
}

/**
 * Trains one variant per init strategy — same tokens, seed, data and steps — and compares them:
 * a live chart overlays the new-token loss curves as they come in; the result displays a table of
 * initial new-token loss, steps to reach `targetLoss`, final eval losses and initReport's figures
 * right after init (mass on the new tokens, KL(base ‖ extended), Hewitt's bound).
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
  const { targetLoss, referenceTexts, addTokensOptions, ...trainOptions } = options;
  // Bad options fail here, before any variant is built or trained.
  const checks = optionChecks(TokenlabError, "compareInits option");
  checks.number("targetLoss", targetLoss);
  if (referenceTexts !== undefined && !(Array.isArray(referenceTexts) && referenceTexts.every((t) => typeof t === "string"))) {
    checks.fail("referenceTexts", "must be a list of strings", referenceTexts);
  }
  resolveOptions(trainOptions);
  const seed = options.seed ?? 0;
  const added = named.map(([, strategy]) => addTokens(base, tokens, { ...addTokensOptions, seed, init: strategy }));
  // Every variant has the same tokenizer, so one preparation gives all of them identical rows.
  const prepared = isTrainingData(data) ? data : prepareData(added[0].model.tokenizer, data, { ...dataOptionsOf(options), seed });
  const texts = referenceTexts ?? prepared.train.slice(0, 8).map((row) => added[0].model.tokenizer.decode(row.inputIds));
  const report = initReport(base, Object.fromEntries(named.map(([name], i) => [name, added[i]])), texts);

  const live = new LiveDisplay({ minIntervalMs: 250 });
  const progressDisplay = new LiveDisplay({ minIntervalMs: 200 });
  const show = options.display ?? notebookHost() !== undefined;
  const steps = options.steps ?? 100;
  const progress = new ProgressBar({ total: steps * named.length, label: "compare inits", unit: "step" });
  const curves: Array<{ name: string; history: StepRecord[] }> = [];
  const variants: InitVariant[] = [];
  try {
    for (const [index, [name, strategy]] of named.entries()) {
      const curve = { name, history: [] as StepRecord[] };
      curves.push(curve);
      const run = train(added[index], prepared, {
        ...trainOptions,
        seed,
        display: false,
        onStep: (record) => {
          curve.history.push(record);
          options.onStep?.(record);
          if (!show) return;
          progressDisplay.update(progress.update(index * steps + record.step, { variant: name }));
          if (record.step % (options.displayEvery ?? 5) === 0) live.update(newTokenChart(curves));
        },
      });
      // A variant that fails (e.g. a non-finite loss) stays in the table with status "failed".
      const result = await run.then(
        (value) => value,
        () => run.result!,
      );
      run.dispose();
      variants.push({ name, strategy, added: added[index], run, result, smoothedNewTokenLoss: smooth(run.history.map((h) => h.newTokenLoss)) });
      if (result.status === "stopped" || result.status === "interrupted") break;
    }
  } finally {
    if (show && curves.length > 0) live.update(newTokenChart(curves));
    live.close();
    progressDisplay.close();
  }
  return new InitComparison(variants, report.rows, targetLoss);
}

export class InitComparison {
  readonly targetLoss: number;

  constructor(
    readonly variants: readonly InitVariant[],
    readonly initRows: readonly InitReportRow[],
    targetLoss?: number,
  ) {
    this.targetLoss = targetLoss ?? maxOf(variants.map((v) => lastFinite(v.smoothedNewTokenLoss)));
  }

  /** First step whose smoothed new-token loss is at or below the target (undefined if never). */
  stepsToTarget(variant: InitVariant): number | undefined {
    const index = variant.smoothedNewTokenLoss.findIndex((loss) => loss <= this.targetLoss);
    return index < 0 ? undefined : variant.run.history[index].step;
  }

  table(): Table {
    return new Table({
      title: `init comparison — same tokens, data, seed and steps; target new-token loss ${this.targetLoss.toPrecision(4)}`,
      columns: ["init", "initial new-token loss", "steps to target", "final eval loss", "final eval new-token loss", "mass on new (init)", "KL(base‖ext) at init", "log(1+n/V)"],
      rows: this.variants.map((v) => {
        const evals = v.result.evals;
        const first = evals.length > 0 ? evals[0].newTokenLoss : v.result.history[0]?.newTokenLoss;
        const last = evals[evals.length - 1];
        const init = this.initRows.find((r) => r.variant === v.name);
        return [v.name, first, this.stepsToTarget(v) ?? "not reached", last?.loss, last?.newTokenLoss, init?.newMassMean, init?.klMean, init?.klBound];
      }),
    });
  }

  chart(): Figure {
    return newTokenChart(this.variants.map((v) => ({ name: v.name, history: [...v.run.history] })));
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
