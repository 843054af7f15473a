import * as path from "node:path";
import type { HfTokenizer } from "../hf/tokenizer";
import { optionChecks } from "../errors/option-checks";
import { DataError } from "./data-error";
import { readJsonl, readTextFile, toExample, type Example } from "./examples";
import { packExamples, type PackedSequence } from "./pack";
import { seededRandom, shuffled } from "../random/seeded-random";
import { tokenizeExample, type LossOn } from "./tokenize-example";

/** Packed rows ready for training, split into train and eval by example (no leakage across). */
export interface TrainingData {
  train: PackedSequence[];
  eval: PackedSequence[];
  seqLen: number;
  /** What prepareData made these rows from (an experiment file repeats it). */
  origin?: { source: string | ReadonlyArray<string | Example>; options: PrepareDataOptions };
  /** The examples behind each split and how they were tokenized (absent for rows built by hand); exportRecipe writes them out. */
  source?: { train: Example[]; eval: Example[]; lossOn: LossOn; separatorId?: number };
}

export interface PrepareDataOptions {
  /** Inputs per row (default 128). */
  seqLen?: number;
  /** Fraction of the examples held out for eval (default 0.1; at least one example when > 0). */
  evalFraction?: number;
  /** Seed of the split (default 0). */
  seed?: number;
  /** Default "all"; "assistant" trains only on assistant turns of conversations. */
  lossOn?: LossOn;
  /** Token appended after each example (default: the tokenizer's EOS when it has one). null = none. */
  separatorId?: number | null;
}

export const PREPARE_DATA_OPTIONS = ["seqLen", "evalFraction", "seed", "lossOn", "separatorId"] as const satisfies ReadonlyArray<keyof PrepareDataOptions>;

/** The data options within a larger options object (train's, compareInits'), for prepareData. */
export function dataOptionsOf(options: PrepareDataOptions): PrepareDataOptions {
  return Object.fromEntries(PREPARE_DATA_OPTIONS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]));
}

/**
 * Turns a data source into train/eval rows: a path (`.jsonl` → JSON Lines of {text}/{messages};
 * anything else → plain text split into paragraphs), or an array of strings / examples.
 */
export function prepareData(
  tokenizer: Pick<HfTokenizer, "encode" | "applyChatTemplate" | "eosTokenId" | "tokenizerJson">,
  source: string | ReadonlyArray<string | Example>,
  options: PrepareDataOptions = {},
): TrainingData {
  const checks = optionChecks(DataError, "prepareData option");
  checks.knownKeys(options, PREPARE_DATA_OPTIONS);
  checks.number("seqLen", options.seqLen, { integer: true, min: 1 });
  checks.number("evalFraction", options.evalFraction, { min: 0, below: 1 });
  checks.number("seed", options.seed, { integer: true });
  checks.oneOf("lossOn", options.lossOn, ["all", "assistant"] satisfies LossOn[]);
  if (options.separatorId !== null) checks.number("separatorId", options.separatorId, { integer: true, min: 0 });
  const seqLen = options.seqLen ?? 128;
  const evalFraction = options.evalFraction ?? 0.1;
  const examples = typeof source === "string" ? readSource(source) : source.map((item, i) => toExample(item, `example #${i}`, { example: i }));
  if (examples.length === 0) throw new DataError("no examples in the training data", { source: typeof source === "string" ? source : "array" });
  const order = shuffled(examples, seededRandom(options.seed ?? 0));
  const evalCount = evalFraction === 0 ? 0 : Math.min(order.length - 1, Math.max(1, Math.round(order.length * evalFraction)));
  const separatorId = options.separatorId === null ? undefined : (options.separatorId ?? tokenizer.eosTokenId);
  const pack = (part: Example[]): PackedSequence[] =>
    packExamples(
      part.map((example) => tokenizeExample(tokenizer, example, { lossOn: options.lossOn })),
      { seqLen, separatorId },
    );
  const split = { eval: order.slice(0, evalCount), train: order.slice(evalCount) };
  const data: TrainingData = {
    eval: pack(split.eval),
    train: pack(split.train),
    seqLen,
    origin: { source: typeof source === "string" ? path.resolve(source) : source, options: { seqLen, evalFraction, seed: options.seed ?? 0, lossOn: options.lossOn, separatorId: options.separatorId } },
    source: { ...split, lossOn: options.lossOn ?? "all", separatorId },
  };
  if (data.train.length === 0) throw new DataError("the training split has no targets after packing", { examples: examples.length });
  return data;
}

/** Whether `data` is already prepared (as opposed to a path or an array of examples). */
export function isTrainingData(data: unknown): data is TrainingData {
  return typeof data === "object" && data !== null && !Array.isArray(data) && "train" in data && "eval" in data;
}

function readSource(file: string): Example[] {
  return file.endsWith(".jsonl") ? readJsonl(file) : readTextFile(file);
}
