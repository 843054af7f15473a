import type { EvaluationMetrics } from "../analysis/evaluate";
import { BatchSchedule } from "../data/batches";
import type { Example } from "../data/examples";
import type { PackedSequence } from "../data/pack";
import { TokenlabError } from "../errors/tokenlab-error";
import { parseAddedTokens, type AddedTokenFlags } from "../hf/added-tokens";
import type { CausalLM } from "../models/causal-lm";
import { AddTokensResult } from "../tokens/add-tokens-result";
import { strategyLabel } from "../tokens/init-strategies";
import type { LayerGroup } from "../train/layer-groups";
import { Run, type RunSetup } from "../train/run";
import { planRun, type ModelWithNewTokens } from "../train/train";
import type { TrainOptions } from "../train/train-options";

/** What exportRecipe accepts: a finished run, or a model with new tokens plus the run it should get. */
export type RecipeSource = Run | AddTokensResult | ModelWithNewTokens;

export interface NewTokenRecord {
  id: number;
  content: string;
  /** The AddedToken flags tokenizer.json records; null when the id is a plain vocabulary entry. */
  flags: AddedTokenFlags | null;
  /** How its rows were initialized, when the source is an addTokens result. */
  init?: string;
}

/** What tokenlab measured for this recipe, so the cluster run can be compared. */
export interface RecipeFigures {
  /** The run's records (absent when the source is not a run). */
  run?: RunFigures;
  /** `evaluate(...)` metrics passed to exportRecipe (new-token accuracy, plain-text perplexity …). */
  evaluation?: ScalarMetrics;
}

/** The evaluation figures that are single numbers (the per-token lists stay in the notebook). */
type ScalarMetrics = Omit<EvaluationMetrics, "emissions" | "newTokenMass">;

export interface RunFigures {
  status: string;
  stepsRun: number;
  train: { first: StepFigures; last: StepFigures };
  eval?: { first: StepFigures; last: StepFigures; best: StepFigures };
}

export interface StepFigures {
  step: number;
  loss: number;
  newTokenLoss: number;
}

/**
 * Everything the exported files are written from, as plain data: the run's plan (the same object
 * `train` builds), the model whose weights are exported, the groups the recipe trains, the packed
 * rows in the order each step consumed them, and the texts behind them.
 */
export interface Recipe {
  plan: Omit<RunSetup, "display" | "signal">;
  /** "initial": the weights before training (the cluster run starts where tokenlab's run started); "trained": after it. */
  checkpoint: "initial" | "trained";
  model: CausalLM;
  /** Groups trained by the end: a run's groups at its end (gradual: the stages it opened); else the plan's initial groups and every stage. */
  trainedGroups: LayerGroup[];
  newTokens: NewTokenRecord[];
  /** Row indices into plan.data.train for each step, steps 1…N in order (what BatchSchedule fed the run); N = the planned steps (a resumed run: the steps it ran, if more). */
  stepOrder: number[][];
  texts: { train: string[]; eval: string[] };
  figures: RecipeFigures;
}

export interface RecipeInput {
  /** Training examples (path or array) for a source that is not a run. */
  data?: string | ReadonlyArray<string | Example>;
  /** Training options for a source that is not a run (as `train` takes them). */
  train?: TrainOptions;
  checkpoint?: "initial" | "trained";
  evaluation?: { metrics: EvaluationMetrics };
}

/** Resolves a source and the export options into a Recipe; throws before anything is written. */
export function buildRecipe(source: RecipeSource, input: RecipeInput): Recipe {
  if (source instanceof Run) return fromRun(source, input);
  if (!source || typeof source !== "object" || !("model" in source) || !("newIds" in source)) {
    throw new TokenlabError("exportRecipe takes a Run (from train), an addTokens result or {model, newIds}", { got: typeof source });
  }
  if (input.checkpoint === "trained") {
    throw new TokenlabError('checkpoint "trained" needs a run; an addTokens result has only initialized rows', { checkpoint: "trained" });
  }
  if (input.data === undefined) {
    throw new TokenlabError("exportRecipe of a model without a run needs options.data: the training examples (a .jsonl / text path or an array)", {});
  }
  const plan = planRun(source, input.data, input.train ?? {});
  const inits = source instanceof AddTokensResult ? new Map(source.tokens.map((t) => [t.id, t.init === null ? "existing row" : strategyLabel(t.init)])) : undefined;
  return finish(plan, plan.options.steps, "initial", plan.base, [...plan.groups.initial, ...plan.groups.stages.flat()], inits, undefined, input);
}

function fromRun(run: Run, input: RecipeInput): Recipe {
  if (input.data !== undefined || input.train !== undefined) {
    throw new TokenlabError("a run already fixed its data and training options; pass options.data / options.train only with an addTokens result", {
      options: [input.data !== undefined ? "data" : "", input.train !== undefined ? "train" : ""].filter(Boolean),
    });
  }
  if (run.status === "running" || !run.result) throw new TokenlabError("the run is still running; await it (or stop() it) before exporting", { status: run.status });
  const checkpoint = input.checkpoint ?? "initial";
  const model = checkpoint === "trained" ? run.result.model : run.base;
  const trained = new Set(run.trainingGroups);
  const groups = run.setup.groups.all.filter((g) => trained.has(g.name));
  const steps = Math.max(run.setup.options.steps, run.completedSteps);
  return finish(run.setup, steps, checkpoint, model, groups, undefined, runFigures(run), input);
}

function finish(
  plan: Recipe["plan"],
  steps: number,
  checkpoint: Recipe["checkpoint"],
  model: CausalLM,
  groups: LayerGroup[],
  inits: Map<number, string> | undefined,
  run: RunFigures | undefined,
  input: RecipeInput,
): Recipe {
  const source = plan.data.source;
  if (!source) {
    throw new TokenlabError("the training data has no source examples (it was built by hand); pass a path or examples to train / exportRecipe so they can be written out", {});
  }
  const render = (example: Example): string => ("text" in example ? example.text : plan.base.tokenizer.applyChatTemplate(example.messages));
  const added = parseAddedTokens(plan.base.tokenizer.tokenizerJson);
  const newTokens = plan.newIds.map((id) => ({
    id,
    content: added.get(id)?.content ?? plan.base.tokenizer.idToToken(id) ?? String(id),
    flags: added.get(id)?.flags ?? null,
    ...(inits?.has(id) ? { init: inits.get(id) } : {}),
  }));
  const evaluation = input.evaluation ? withoutEmissions(input.evaluation.metrics) : undefined;
  const names = new Set(groups.map((g) => g.name));
  return {
    plan,
    checkpoint,
    model,
    trainedGroups: plan.groups.all.filter((g) => names.has(g.name)),
    newTokens,
    stepOrder: stepOrder(plan.data.train, plan.options.batchSize, plan.options.seed, steps),
    texts: { train: source.train.map(render), eval: source.eval.map(render) },
    figures: { run, evaluation },
  };
}

/** The rows each step trains on, as indices into `rows`: the run's own BatchSchedule, replayed. */
function stepOrder(rows: readonly PackedSequence[], batchSize: number, seed: number, steps: number): number[][] {
  const index = new Map(rows.map((row, i) => [row, i]));
  const schedule = new BatchSchedule(rows, batchSize, seed);
  return Array.from({ length: steps }, (_, step) => schedule.at(step).map((row) => index.get(row)!));
}

function runFigures(run: Run): RunFigures | undefined {
  if (run.history.length === 0) return undefined;
  const step = (r: { step: number; loss: number; newTokenLoss: number }): StepFigures => ({ step: r.step, loss: r.loss, newTokenLoss: r.newTokenLoss });
  const evals = run.evals;
  const best = evals.reduce((a, b) => (b.loss < a.loss ? b : a), evals[0]);
  return {
    status: run.status,
    stepsRun: run.completedSteps,
    train: { first: step(run.history[0]), last: step(run.history[run.history.length - 1]) },
    ...(evals.length > 0 ? { eval: { first: step(evals[0]), last: step(evals[evals.length - 1]), best: step(best) } } : {}),
  };
}

function withoutEmissions(metrics: EvaluationMetrics): ScalarMetrics {
  const { emissions: _emissions, newTokenMass: _newTokenMass, ...rest } = metrics;
  return rest;
}
