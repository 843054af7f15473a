import * as path from "node:path";
import { baseModelDir } from "../base-model/location";
import type { PrepareDataOptions } from "../data/prepare-data";
import { writeFileAtomic } from "../hf/atomic-write";
import { withDefaultFlags } from "../hf/added-tokens";
import { AddTokensResult } from "../tokens/add-tokens-result";
import type { TokenSpecObject } from "../tokens/token-spec";
import type { Run } from "../train/run";
import type { TrainOptions } from "../train/train-options";
import type { Experiment } from "./experiment";
import { ExperimentError } from "./experiment-error";
import { experimentYaml } from "./experiment-yaml";

/** Options that only exist inside a process (or are data options, written under `data:`). */
const NOT_WRITTEN: ReadonlyArray<keyof TrainOptions> = ["signal", "display", "onStep", "seqLen", "evalFraction", "lossOn", "separatorId"];

/**
 * The experiment a notebook's train(...) call ran: the checkpoint the model was loaded from, the
 * tokens addTokens added (with flags, init and options), the data source and the train options.
 * `tokenlab run` on it repeats the run. Fails with an ExperimentError naming what has no written
 * form: a model not loaded from a directory, an init or schedule function, hand-built TrainingData.
 */
export function experimentOf(run: Run): Experiment {
  const { model, data, options } = run.setup.recipe;
  const added = model instanceof AddTokensResult ? model : undefined;
  const loaded = added ? added.base : "model" in model && "newIds" in model ? model.model : model;
  if (!loaded.source) {
    throw new ExperimentError("the run's model was not loaded from a checkpoint directory as it is (changed models have no file to name); train the result of loadModel or addTokens");
  }
  if (!data.origin) throw new ExperimentError("the run's data were not made by prepareData (a file or examples), so an experiment file cannot name them");
  const { source, options: dataOptions } = data.origin;
  const train: TrainOptions = Object.fromEntries(Object.entries(options).filter(([key, value]) => value !== undefined && !NOT_WRITTEN.includes(key as keyof TrainOptions)));
  if (typeof train.schedule === "function") throw new ExperimentError('the run uses a schedule function; an experiment file can name "constant" or "warmup-cosine"');
  if (!added && "newIds" in model && model.newIds.length > 0 && train.newIds === undefined) train.newIds = [...model.newIds];
  return {
    model: loaded.source === path.resolve(baseModelDir()) ? "base" : loaded.source,
    tokens: added && { add: added.tokens.map(tokenSpecOf), ...definedOnly({ ...added.options, init: undefined }) },
    data: { ...(typeof source === "string" ? { files: [{ path: source }] } : { examples: [...source] }), ...(definedOnly(dataOptions) as PrepareDataOptions) },
    train,
  };
}

/**
 * The experiment of `run` as YAML; with `file`, also written there (paths relative to its folder),
 * ready for `tokenlab run FILE`.
 */
export function writeExperiment(run: Run, file?: string): string {
  const experiment = experimentOf(run);
  if (file === undefined) return experimentYaml(experiment);
  const text = experimentYaml(experiment, path.dirname(path.resolve(file)));
  writeFileAtomic(file, text);
  return text;
}

/** A token as a spec: flags where they differ from the defaults (and `special` when set), the init that built its rows. */
function tokenSpecOf(token: AddTokensResult["tokens"][number]): TokenSpecObject {
  if (typeof token.init === "function") throw new ExperimentError(`token ${JSON.stringify(token.content)} was initialized by a function; an experiment file can only name the built-in strategies`);
  const defaults = withDefaultFlags({ special: token.flags.special });
  const spec: TokenSpecObject = { content: token.content };
  for (const flag of ["special", "lstrip", "rstrip", "singleWord", "normalized"] as const) {
    if (token.flags[flag] !== defaults[flag] || (flag === "special" && token.flags.special)) spec[flag] = token.flags[flag];
  }
  if (token.init !== null) spec.init = token.init;
  return spec;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
