import { PREPARE_DATA_OPTIONS, type PrepareDataOptions } from "../data/prepare-data";
import { optionChecks } from "../errors/option-checks";
import type { StepRecord } from "./run-records";
import { layerGroups, selectGroups, type LayerGroup } from "./layer-groups";
import type { ParameterLayout } from "../models/causal-lm";
import { constantSchedule, warmupCosineSchedule, type LrSchedule } from "./schedules";
import { topDownStages, type UnfreezeTrigger } from "./unfreeze-schedule";
import { TrainingError } from "./training-error";

/**
 * Which parameters train:
 * - "new-rows": only the rows of the new tokens (input embedding and, when untied, output head),
 *   through [k, hidden] deltas — every other weight stays bit-identical to the base;
 * - "gradual": starts like "new-rows", then unfreezes stages of groups (top block first) on the
 *   `unfreeze` schedule;
 * - "full": every weight, with early stopping, weight decay, clipping and warmup + cosine;
 * - an explicit list of layer-group selectors (names, globs, slices — see `selectGroups`).
 */
/** The named strategies; any other strategy is a list of layer-group selectors. */
export const NAMED_STRATEGIES = ["new-rows", "gradual", "full"] as const;
/** The schedules train() builds itself (a schedule function is the other choice). */
export const SCHEDULES = ["constant", "warmup-cosine"] as const;

export type Strategy = (typeof NAMED_STRATEGIES)[number] | readonly string[];

export interface TrainOptions extends PrepareDataOptions {
  strategy?: Strategy;
  /** Ids of the added tokens (defaults to what addTokens recorded, see `train`). */
  newIds?: readonly number[];
  /** Optimizer steps (default 100). */
  steps?: number;
  /** Rows per step (default 8). */
  batchSize?: number;
  /** Base learning rate (default 1e-2 for "new-rows", 1e-3 for "gradual", 3e-4 otherwise). */
  lr?: number;
  /** Learning rate of the embed / head groups (default: `lr`). */
  embeddingLr?: number;
  /**
   * Per-group learning rates by selector, e.g. `{"block.*": 1e-4, "block.-1:": 3e-4}`. A parameter
   * takes the LAST entry whose selection contains any group the parameter belongs to.
   */
  groupLr?: Readonly<Record<string, number>>;
  /** "constant" (default for "new-rows"/"gradual"), "warmup-cosine" (default for "full"), or a function. */
  schedule?: "constant" | "warmup-cosine" | LrSchedule;
  /** Warmup steps of "warmup-cosine" (default 10% of the steps). */
  warmupSteps?: number;
  /** Decoupled AdamW weight decay on whole matrices (default 0.01 for "full", else 0). New-row deltas never decay. */
  weightDecay?: number;
  /** Global gradient-norm clip (default 1.0; 0 = off). */
  clipNorm?: number;
  /** Evaluate every K steps (default max(1, steps / 10)); also after the last step. */
  evalEvery?: number;
  /** Early stopping on eval loss (default {patience: 3} for "full", else off). */
  earlyStopping?: false | { patience: number; minDelta?: number };
  /** Return the best-eval-loss weights as the result model (default: true when early stopping). */
  restoreBest?: boolean;
  /** Gradual unfreezing: stages of selectors (default top block + final norm, then each block below) and when. */
  unfreeze?: UnfreezeTrigger & { stages?: readonly (readonly string[])[] };
  /** Seed of batch order and split (default 0). */
  seed?: number;
  /** Stops the run at the next step boundary when aborted (in addition to the notebook's interrupt). */
  signal?: AbortSignal;
  /** Live chart + progress bar in the notebook (default true when a notebook host is present). */
  display?: boolean;
  /** Redraw the live chart every N steps (default 5). */
  displayEvery?: number;
  /** Record embedding drift every K steps (default: evalEvery). 0 = off. */
  driftEvery?: number;
  /** Existing rows sampled for drift (default 32). */
  driftSample?: number;
  /** Called after every step (after its eval, if any) — e.g. to drive a custom live view. */
  onStep?: (record: StepRecord) => void;
}

/** Which schedule `schedule` is, as data (a function cannot be exported to another engine). */
export type ScheduleSpec =
  | { kind: "constant" }
  | { kind: "warmup-cosine"; warmupSteps: number; totalSteps: number; minFactor: number }
  | { kind: "custom" };

/** Options with every default filled in for one strategy. */
export interface ResolvedOptions {
  strategy: Strategy;
  steps: number;
  batchSize: number;
  lr: number;
  embeddingLr: number;
  groupLr: Readonly<Record<string, number>>;
  schedule: LrSchedule;
  scheduleSpec: ScheduleSpec;
  weightDecay: number;
  clipNorm: number;
  evalEvery: number;
  earlyStopping: false | { patience: number; minDelta: number };
  restoreBest: boolean;
  unfreeze?: UnfreezeTrigger;
  seed: number;
  displayEvery: number;
  driftEvery: number;
  driftSample: number;
  onStep?: (record: StepRecord) => void;
}

const TRAIN_OPTIONS = [
  ...PREPARE_DATA_OPTIONS,
  "strategy", "newIds", "steps", "batchSize", "lr", "embeddingLr", "groupLr", "schedule", "warmupSteps", "weightDecay", "clipNorm",
  "evalEvery", "earlyStopping", "restoreBest", "unfreeze", "signal", "display", "displayEvery", "driftEvery", "driftSample", "onStep",
] as const satisfies ReadonlyArray<keyof TrainOptions>;

/**
 * Refuses options that would train wrongly or fail later with a cryptic message: unknown keys
 * (typos), a learning rate that is not a finite positive number (NaN surfaced only as a
 * non-finite gradient; a negative one trained by gradient ascent), unknown schedules and strategies,
 * counts that are not positive integers. The data options are checked by prepareData.
 */
function checkTrainOptions(options: TrainOptions): void {
  const checks = optionChecks(TrainingError, "train option");
  checks.knownKeys(options, TRAIN_OPTIONS);
  const { strategy, schedule, earlyStopping, unfreeze } = options;
  if (typeof strategy === "string" || !Array.isArray(strategy)) checks.oneOf("strategy", strategy, NAMED_STRATEGIES);
  else if (!strategy.every((selector) => typeof selector === "string")) checks.fail("strategy", "must be a list of layer-group selectors (strings)", strategy);
  for (const name of ["steps", "batchSize", "evalEvery", "displayEvery"] as const) checks.number(name, options[name], { integer: true, min: 1 });
  for (const name of ["warmupSteps", "driftEvery", "driftSample"] as const) checks.number(name, options[name], { integer: true, min: 0 });
  for (const name of ["lr", "embeddingLr"] as const) checks.number(name, options[name], { above: 0 });
  for (const name of ["weightDecay", "clipNorm"] as const) checks.number(name, options[name], { min: 0 });
  if (options.groupLr !== undefined) {
    if (typeof options.groupLr !== "object" || options.groupLr === null) checks.fail("groupLr", "must be an object {selector: lr}", options.groupLr);
    for (const [selector, lr] of Object.entries(options.groupLr)) checks.number(`groupLr[${JSON.stringify(selector)}]`, lr, { above: 0 });
  }
  if (typeof schedule !== "function") checks.oneOf("schedule", schedule, SCHEDULES);
  /** A plateau rule {patience, minDelta?}: early stopping's and unfreezing's. */
  const plateau = (name: string, rule: { patience: number; minDelta?: number }) => {
    checks.knownKeys(rule, ["patience", "minDelta"], name);
    checks.number(`${name}.patience`, rule.patience ?? NaN, { integer: true, min: 1 });
    checks.number(`${name}.minDelta`, rule.minDelta, { min: 0 });
  };
  if (earlyStopping !== undefined && earlyStopping !== false) {
    if (typeof earlyStopping !== "object" || earlyStopping === null) checks.fail("earlyStopping", "must be false or {patience, minDelta?}", earlyStopping);
    plateau("earlyStopping", earlyStopping);
  }
  if (unfreeze !== undefined) {
    if (typeof unfreeze !== "object" || unfreeze === null) checks.fail("unfreeze", "must be {every?, onPlateau?, stages?}", unfreeze);
    checks.knownKeys(unfreeze, ["every", "onPlateau", "stages"], "unfreeze");
    checks.number("unfreeze.every", unfreeze.every, { integer: true, min: 1 });
    if (unfreeze.onPlateau !== undefined) plateau("unfreeze.onPlateau", unfreeze.onPlateau);
  }
  checks.number("seed", options.seed, { integer: true });
  for (const name of ["restoreBest", "display"] as const) checks.boolean(name, options[name]);
  if (options.onStep !== undefined && typeof options.onStep !== "function") checks.fail("onStep", "must be a function", options.onStep);
  // Which ids are tokens depends on the model: train checks them.
  if (options.newIds !== undefined && !Array.isArray(options.newIds)) checks.fail("newIds", "must be a list of token ids", options.newIds);
}

export function resolveOptions(options: TrainOptions): ResolvedOptions {
  checkTrainOptions(options);
  const strategy = options.strategy ?? "new-rows";
  const steps = options.steps ?? 100;
  const batchSize = options.batchSize ?? 8;
  const full = strategy === "full";
  const lr = options.lr ?? (strategy === "new-rows" ? 1e-2 : strategy === "gradual" ? 1e-3 : 3e-4);
  const evalEvery = options.evalEvery ?? Math.max(1, Math.floor(steps / 10));
  const scheduleChoice = options.schedule ?? (full ? "warmup-cosine" : "constant");
  const scheduleSpec: ScheduleSpec =
    typeof scheduleChoice === "function"
      ? { kind: "custom" }
      : scheduleChoice === "constant"
        ? { kind: "constant" }
        : { kind: "warmup-cosine", warmupSteps: options.warmupSteps ?? Math.floor(steps / 10), totalSteps: steps, minFactor: 0.1 };
  const schedule =
    typeof scheduleChoice === "function"
      ? scheduleChoice
      : scheduleSpec.kind === "warmup-cosine"
        ? warmupCosineSchedule(scheduleSpec)
        : constantSchedule();
  const earlyStopping =
    options.earlyStopping === undefined
      ? full
        ? { patience: 3, minDelta: 0 }
        : false
      : options.earlyStopping === false
        ? false
        : { patience: options.earlyStopping.patience, minDelta: options.earlyStopping.minDelta ?? 0 };
  if (strategy === "gradual" && !options.unfreeze) {
    throw new TrainingError('strategy "gradual" needs `unfreeze: {every: N}` or `unfreeze: {onPlateau: {patience}}`');
  }
  return {
    strategy,
    steps,
    batchSize,
    lr,
    embeddingLr: options.embeddingLr ?? lr,
    groupLr: options.groupLr ?? {},
    schedule,
    scheduleSpec,
    weightDecay: options.weightDecay ?? (full ? 0.01 : 0),
    clipNorm: options.clipNorm ?? 1.0,
    evalEvery,
    earlyStopping,
    restoreBest: options.restoreBest ?? earlyStopping !== false,
    unfreeze: options.unfreeze ? { every: options.unfreeze.every, onPlateau: options.unfreeze.onPlateau } : undefined,
    seed: options.seed ?? 0,
    displayEvery: options.displayEvery ?? 5,
    driftEvery: options.driftEvery ?? evalEvery,
    driftSample: options.driftSample ?? 32,
    onStep: options.onStep,
  };
}

/** The groups a strategy trains from the start, and the stages gradual unfreezing opens later. */
export function strategyGroups(
  layout: ParameterLayout,
  newIds: readonly number[],
  strategy: Strategy,
  stages?: readonly (readonly string[])[],
): { all: LayerGroup[]; initial: LayerGroup[]; stages: LayerGroup[][] } {
  const all = layerGroups(layout, newIds);
  const newRows = (): LayerGroup[] => {
    if (newIds.length === 0) {
      throw new TrainingError(`strategy "${String(strategy)}" trains the new tokens' rows, but no new token ids were given`, {
        hint: "pass the model returned by addTokens, or options.newIds",
      });
    }
    return selectGroups(all, ["embed.new", "head.new"]);
  };
  if (strategy === "new-rows") return { all, initial: newRows(), stages: [] };
  if (strategy === "gradual") {
    const plan = stages ?? topDownStages(layout.blocks.length);
    return { all, initial: newRows(), stages: plan.map((selectors) => selectGroups(all, selectors)) };
  }
  if (strategy === "full") return { all, initial: selectGroups(all, ["embed", "block.*", "norm.final", "head"]), stages: [] };
  if (!Array.isArray(strategy) || strategy.length === 0) {
    throw new TrainingError('strategy must be "new-rows", "gradual", "full" or a non-empty list of layer-group selectors', {
      strategy,
    });
  }
  return { all, initial: selectGroups(all, strategy), stages: [] };
}

/**
 * Learning rate of one trainable tensor (or row delta): `embeddingLr` for the embedding, head and
 * extra tensors, `lr` otherwise; then the last `groupLr` entry whose selector picks a group that
 * contains it.
 */
export function learningRateOf(
  param: { tensor: string; rows?: unknown },
  all: readonly LayerGroup[],
  layout: ParameterLayout,
  options: Pick<ResolvedOptions, "lr" | "embeddingLr" | "groupLr">,
): number {
  const containing = new Set(
    all
      .filter((g) => (g.kind === "rows" ? param.rows !== undefined && g.tensor === param.tensor : param.rows === undefined && g.tensors.includes(param.tensor)))
      .map((g) => g.name),
  );
  const embeddingLike = param.tensor === layout.embedding || param.tensor === layout.head || layout.extras.includes(param.tensor);
  let lr = embeddingLike ? options.embeddingLr : options.lr;
  for (const [selector, value] of Object.entries(options.groupLr)) {
    if (selectGroups(all, [selector]).some((g) => containing.has(g.name))) lr = value;
  }
  return lr;
}
