import type { Example } from "../data/examples";
import { dataOptionsOf, isTrainingData, prepareData, type TrainingData } from "../data/prepare-data";
import { assertNotDisposed, assertTokenIds, type CausalLM } from "../models/causal-lm";
import { assertSequenceFits } from "../models/model-config";
import { notebookHost } from "../runtime/notebook-host";
import { Run, type RunSetup } from "./run";
import type { RunState } from "./run-state";
import { resolveOptions, strategyGroups, type TrainOptions } from "./train-options";
import { TrainingError } from "./training-error";

/** A model together with the ids of the tokens added to it (what addTokens returns carries both). */
export interface ModelWithNewTokens {
  model: CausalLM;
  newIds: readonly number[];
}

/**
 * Trains `model` on `data` and returns the Run at once (training proceeds step by step on the event
 * loop; `await run` for the result). `model` may be a model with its new token ids (the result of
 * addTokens) — the "new rows" groups then know which rows are new. `data` is prepared TrainingData,
 * a file path or an array of texts / {text} / {messages} (prepared with the model's tokenizer and
 * the data options in `options`). The base model is never modified.
 */
export function train(
  model: CausalLM | ModelWithNewTokens,
  data: TrainingData | string | ReadonlyArray<string | Example>,
  options: TrainOptions = {},
): Run {
  return new Run(runSetup(model, data, options));
}

/**
 * A stopped run rebuilt from its saved state (`readRunState`) in a new process, with the same
 * model, data and options `train` got: `resume()` it to continue bit-identically. Its `result` (what
 * awaiting it gives before resume) holds the saved weights; the caller owns those tensors.
 */
export function restoreRun(
  model: CausalLM | ModelWithNewTokens,
  data: TrainingData | string | ReadonlyArray<string | Example>,
  options: TrainOptions,
  state: RunState,
): Run {
  return new Run(runSetup(model, data, options), state);
}

function runSetup(model: CausalLM | ModelWithNewTokens, data: TrainingData | string | ReadonlyArray<string | Example>, options: TrainOptions): RunSetup {
  return { ...planRun(model, data, options), signal: options.signal, display: options.display ?? notebookHost() !== undefined };
}

/**
 * Everything `train` decides before the first step — the model and its new ids, the prepared data,
 * the options with their defaults and the layer groups — without starting a run. exportRecipe
 * reads the same plan, so an exported recipe is the run `train` would make.
 */
export function planRun(
  model: CausalLM | ModelWithNewTokens,
  data: TrainingData | string | ReadonlyArray<string | Example>,
  options: TrainOptions = {},
): Omit<RunSetup, "display" | "signal"> {
  const base = "model" in model && "newIds" in model ? model.model : (model as CausalLM);
  assertNotDisposed(base, "train");
  const resolved = resolveOptions(options);
  const newIds = [...(options.newIds ?? ("newIds" in model ? model.newIds : []))];
  assertTokenIds(base, newIds, "train: newIds");
  const prepared = isTrainingData(data) ? data : prepareData(base.tokenizer, data, dataOptionsOf(options));
  assertSequenceFits(base.config, prepared.seqLen, "train: seqLen");
  if (prepared.eval.length === 0 && resolved.earlyStopping) {
    if (options.earlyStopping) throw new TrainingError("early stopping needs eval data: set evalFraction > 0 or pass TrainingData with eval rows");
    resolved.earlyStopping = false;
    resolved.restoreBest = options.restoreBest ?? false;
  }
  const groups = strategyGroups(base.layout, newIds, resolved.strategy, options.unfreeze?.stages);
  if (groups.initial.length === 0) throw new TrainingError("nothing to train: the selected layer groups are empty", { strategy: resolved.strategy });
  return {
    recipe: { model, data: prepared, options },
    base,
    newIds,
    data: prepared,
    options: resolved,
    groups,
    title: typeof resolved.strategy === "string" ? `training (${resolved.strategy})` : `training (${resolved.strategy.join(", ")})`,
  };
}
