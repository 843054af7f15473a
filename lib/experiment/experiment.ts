import * as fs from "node:fs";
import * as path from "node:path";
import type { Node } from "yaml";
import { isMap, isScalar } from "yaml";
import type { Example } from "../data/examples";
import type { PrepareDataOptions } from "../data/prepare-data";
import type { AddTokensOptions } from "../tokens/add-tokens";
import type { TokenSpec } from "../tokens/token-spec";
import { FLOAT_DTYPES } from "../hf/safetensors";
import { NAMED_STRATEGIES, SCHEDULES, type TrainOptions } from "../train/train-options";
import { ExperimentError } from "./experiment-error";
import { YamlSource, type Shape } from "./yaml-shape";

/** A data file: `.jsonl` is JSON Lines of {text} / {messages}; anything else is text split by `split`. */
export interface DataFile {
  path: string;
  split?: "paragraph" | "line" | "file";
}

/**
 * One experiment, as `tokenlab run` reads it from YAML: the arguments of loadModel, addTokens,
 * prepareData, train and evaluate. Paths are absolute (resolved against the YAML file's folder).
 */
export interface Experiment {
  /** A checkpoint directory, or "base" for the bundled base model. */
  model: string;
  tokens?: { add: TokenSpec[] } & AddTokensOptions;
  data: { files?: DataFile[]; examples?: Array<string | Example> } & PrepareDataOptions;
  /** train() options that can be written down (no callbacks, signals or schedule functions). */
  train: TrainOptions;
  evaluate?: { data?: DataFile[]; plainText?: DataFile[]; klToBase?: boolean; batchSize?: number; seqLen?: number };
  /**
   * exportRecipe of the finished run into `<output>/export` (LLaMA-Factory config, PEFT script,
   * checkpoint with the new tokens); `checkpoint` and `dtype` as exportRecipe takes them.
   */
  export?: { checkpoint?: "initial" | "trained"; dtype?: "F32" | "F16" | "BF16" };
  /** Output folder; parseExperiment defaults it to `<file name without extension>.run` beside the file. */
  output?: string;
}

const str: Shape = { kind: "string" };
const strings: Shape = { kind: "oneOf", options: [str, { kind: "list", of: str, nonEmpty: true }], describe: "a string or a list of strings" };
const positiveInt: Shape = { kind: "number", integer: true, min: 1 };
const nonNegativeInt: Shape = { kind: "number", integer: true, min: 0 };
const positive: Shape = { kind: "number", min: 0, exclusiveMin: true };
const nonNegative: Shape = { kind: "number", min: 0 };
const seed: Shape = { kind: "number", integer: true };

const initStrategy: Shape = {
  kind: "oneOf",
  describe: '"random", "zeros", "mean", "mvn-mean", "noisy-mean", {random: {std}}, {from: text(s)}, {describe: text, noise?} or {interpolate: {from, alpha}}',
  options: [
    { kind: "enum", values: ["random", "zeros", "mean", "mvn-mean", "noisy-mean"] },
    { kind: "object", fields: { random: { kind: "object", fields: { std: positive }, required: ["std"] } }, required: ["random"] },
    { kind: "object", fields: { from: strings }, required: ["from"] },
    { kind: "object", fields: { describe: { kind: "string", nonEmpty: true }, noise: { kind: "boolean" } }, required: ["describe"] },
    {
      kind: "object",
      fields: { interpolate: { kind: "object", fields: { from: strings, alpha: { kind: "number", min: 0, max: 1 } }, required: ["from", "alpha"] } },
      required: ["interpolate"],
    },
  ],
};

const tokenSpec: Shape = {
  kind: "oneOf",
  describe: "a token string or {content, special?, lstrip?, rstrip?, singleWord?, normalized?, init?, description?}",
  options: [
    { kind: "string", nonEmpty: true },
    {
      kind: "object",
      required: ["content"],
      fields: {
        content: { kind: "string", nonEmpty: true },
        special: { kind: "boolean" },
        lstrip: { kind: "boolean" },
        rstrip: { kind: "boolean" },
        singleWord: { kind: "boolean" },
        normalized: { kind: "boolean" },
        init: initStrategy,
        description: { kind: "string", nonEmpty: true },
      },
    },
  ],
};

const dataFile: Shape = {
  kind: "oneOf",
  describe: "a file path or {path, split}",
  options: [
    { kind: "string", nonEmpty: true },
    { kind: "object", fields: { path: { kind: "string", nonEmpty: true }, split: { kind: "enum", values: ["paragraph", "line", "file"] } }, required: ["path"] },
  ],
};
const dataFiles: Shape = { kind: "oneOf", options: [dataFile, { kind: "list", of: dataFile, nonEmpty: true }], describe: "a file path or a list of them" };

const message: Shape = { kind: "object", fields: { role: str, content: str }, required: ["role", "content"] };
const example: Shape = {
  kind: "oneOf",
  describe: "a string, {text} or {messages: [{role, content}]}",
  options: [str, { kind: "object", fields: { text: str }, required: ["text"] }, { kind: "object", fields: { messages: { kind: "list", of: message } }, required: ["messages"] }],
};

const plateau: Shape = { kind: "object", fields: { patience: positiveInt, minDelta: nonNegative }, required: ["patience"] };

const EXPERIMENT: Shape = {
  kind: "object",
  required: ["data"],
  fields: {
    model: { kind: "string", nonEmpty: true },
    tokens: {
      kind: "object",
      required: ["add"],
      fields: {
        add: { kind: "list", of: tokenSpec, nonEmpty: true },
        init: initStrategy,
        padToMultipleOf: positiveInt,
        seed,
        onExisting: { kind: "enum", values: ["skip", "error", "reuse"] },
      },
    },
    data: {
      kind: "object",
      fields: {
        files: dataFiles,
        examples: { kind: "list", of: example, nonEmpty: true },
        seqLen: positiveInt,
        evalFraction: { kind: "number", min: 0, max: 0.99 },
        seed,
        lossOn: { kind: "enum", values: ["all", "assistant"] },
        separatorId: { kind: "oneOf", options: [nonNegativeInt, { kind: "null" }], describe: "a token id or null" },
      },
    },
    train: {
      kind: "object",
      fields: {
        strategy: {
          kind: "oneOf",
          options: [{ kind: "enum", values: NAMED_STRATEGIES }, { kind: "list", of: { kind: "string", nonEmpty: true }, nonEmpty: true }],
          describe: '"new-rows", "gradual", "full" or a list of layer-group selectors',
        },
        newIds: { kind: "list", of: nonNegativeInt, nonEmpty: true },
        steps: positiveInt,
        batchSize: positiveInt,
        lr: positive,
        embeddingLr: positive,
        groupLr: { kind: "record", of: positive },
        schedule: { kind: "enum", values: SCHEDULES },
        warmupSteps: nonNegativeInt,
        weightDecay: nonNegative,
        clipNorm: nonNegative,
        evalEvery: positiveInt,
        earlyStopping: { kind: "oneOf", options: [{ kind: "literal", value: false }, plateau], describe: "false or {patience, minDelta?}" },
        restoreBest: { kind: "boolean" },
        unfreeze: {
          kind: "object",
          fields: { every: positiveInt, onPlateau: plateau, stages: { kind: "list", of: { kind: "list", of: str, nonEmpty: true }, nonEmpty: true } },
        },
        seed,
        displayEvery: positiveInt,
        driftEvery: nonNegativeInt,
        driftSample: nonNegativeInt,
      },
    },
    evaluate: {
      kind: "object",
      fields: { data: dataFiles, plainText: dataFiles, klToBase: { kind: "boolean" }, batchSize: positiveInt, seqLen: positiveInt },
    },
    export: {
      kind: "object",
      fields: { checkpoint: { kind: "enum", values: ["initial", "trained"] }, dtype: { kind: "enum", values: FLOAT_DTYPES } },
    },
    output: { kind: "string", nonEmpty: true },
  },
};

/** The experiment's top-level keys in the order they are written. */
export const EXPERIMENT_KEYS = Object.keys((EXPERIMENT as { fields: object }).fields);

/** Reads and validates an experiment file; relative paths are taken from the file's folder. */
export function readExperimentFile(file: string): Experiment {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new ExperimentError(`cannot read the experiment file ${file}: ${(cause as Error).message}`, { file }, { cause });
  }
  return parseExperiment(text, file);
}

/**
 * Validates experiment YAML: unknown keys, wrong types and missing files are errors naming the key
 * and its line. `file` names the source in messages; relative paths resolve against its folder.
 */
export function parseExperiment(text: string, file: string): Experiment {
  const source = new YamlSource(text, file);
  const value = source.read(source.root, EXPERIMENT, "") as Record<string, unknown>;
  const folder = path.dirname(path.resolve(file));
  const experiment = value as unknown as Experiment;
  const data = experiment.data;
  if (data.files === undefined && data.examples === undefined) {
    throw source.error(nodeAt(source.root, ["data"]), "data", "needs `files` (text or .jsonl paths) or `examples` (inline)");
  }
  const model = experiment.model ?? "base";
  const resolved: Experiment = {
    ...experiment,
    model: model === "base" ? model : checkedPath(source, ["model"], path.resolve(folder, model), "directory"),
    data: { ...data, files: data.files && filesAt(source, ["data", "files"], data.files, folder) },
    train: experiment.train ?? {},
  };
  if (experiment.evaluate) {
    const { data: evalData, plainText } = experiment.evaluate;
    resolved.evaluate = {
      ...experiment.evaluate,
      data: evalData && filesAt(source, ["evaluate", "data"], evalData, folder),
      plainText: plainText && filesAt(source, ["evaluate", "plainText"], plainText, folder),
    };
  }
  resolved.output = path.resolve(folder, experiment.output ?? `${path.basename(file, path.extname(file))}.run`);
  if (resolved.train.strategy === "gradual" && !resolved.train.unfreeze) {
    throw source.error(nodeAt(source.root, ["train", "strategy"]), "train.strategy", '"gradual" needs train.unfreeze with `every` or `onPlateau`');
  }
  const unfreeze = resolved.train.unfreeze;
  if (unfreeze && unfreeze.every === undefined && unfreeze.onPlateau === undefined) {
    throw source.error(nodeAt(source.root, ["train", "unfreeze"]), "train.unfreeze", "needs `every` (steps) or `onPlateau` ({patience})");
  }
  return resolved;
}

/** Data files as {path, split?} with absolute paths; a missing file is an error at its line. */
function filesAt(source: YamlSource, at: string[], given: unknown, folder: string): DataFile[] {
  const list = (Array.isArray(given) ? given : [given]) as Array<string | DataFile>;
  return list.map((entry, i) => {
    const file = typeof entry === "string" ? { path: entry } : entry;
    const keyPath = Array.isArray(given) ? [...at, i] : at;
    return { ...file, path: checkedPath(source, keyPath, path.resolve(folder, file.path), "file") };
  });
}

function checkedPath(source: YamlSource, at: Array<string | number>, absolute: string, kind: "file" | "directory"): string {
  const stat = fs.statSync(absolute, { throwIfNoEntry: false });
  const ok = kind === "file" ? stat?.isFile() : stat?.isDirectory();
  if (!ok) {
    const what = stat ? `is not a ${kind}` : "does not exist";
    throw source.error(nodeAt(source.root, at), keyPathOf(at), `${absolute} ${what}`);
  }
  return absolute;
}

function keyPathOf(at: ReadonlyArray<string | number>): string {
  return at.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/** The node at a key path (map keys and list indexes), for error lines. */
function nodeAt(root: Node | null, at: ReadonlyArray<string | number>): Node | null {
  let node: Node | null = root;
  for (const key of at) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && (p.key as { value: unknown }).value === key);
      node = (pair?.value as Node | null) ?? null;
    } else if (node && "items" in node && typeof key === "number") {
      node = ((node as { items: Node[] }).items[key] as Node) ?? null;
    } else {
      return node;
    }
  }
  return node;
}
