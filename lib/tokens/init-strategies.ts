/**
 * Initialization strategies for the embedding rows of new tokens. Each is a named pure function
 * (context, token) → row [hidden]; the context holds ONE matrix (the input embedding, or an untied
 * output head — whose new rows are then computed from the head's own rows, unlike LLaMA-Factory)
 * and the BASE tokenizer (never the extended one, unlike Unsloth's interpolation).
 *
 * Tensors: the returned row is owned by the caller; the context's tensors are borrowed.
 */
import * as tf from "@tensorflow/tfjs-core";
import { matMulBf16NN, unpackBf16 } from "../backend/wasm-bf16-matmul";
import type { HfTokenizer } from "../hf/tokenizer";
import { gatherRows, isPacked } from "../models/packed-weights";
import type { OptionChecks } from "../errors/option-checks";
import { AddTokensError } from "./add-tokens-error";
import { gaussianSamples } from "./seeded-gaussian";
import type { AddedTokenFlags } from "./token-spec";

/** What a user init function receives. */
export interface InitFunctionArgs {
  /** The matrix the row goes into (base rows): the embedding for role "input", the head for "output". */
  matrix: tf.Tensor2D;
  role: "input" | "output";
  embedding: tf.Tensor2D;
  /** The untied output head, or null when tied. */
  head: tf.Tensor2D | null;
  baseTokenizer: HfTokenizer;
  token: { content: string; id: number; flags: AddedTokenFlags };
}

/** A user strategy: returns the row ([hidden] numbers). Called once per matrix (input, untied output). */
export type InitFunction = (args: InitFunctionArgs) => tf.Tensor1D | Float32Array | number[];

export type InitStrategy =
  /** N(0, initializer_range²) — what a freshly built HF model does. */
  | "random"
  | { random: { std: number } }
  /** All zeros (for comparison; Hewitt shows why it is a bad idea). */
  | "zeros"
  /** Mean of the existing token rows (padding rows excluded). */
  | "mean"
  /** HF `mean_resizing`: one sample of N(μ, 1e-9·Σ) of the existing rows. */
  | "mvn-mean"
  /** LLaMA-Factory `noise_init`: mean + N(0, (1/√hidden)²). */
  | "noisy-mean"
  /** Mean of the rows of the pieces the base tokenizer makes of the text; several texts: mean of their means. */
  | { from: string | string[] }
  /** LLaMA-Factory `desc_init`: mean over the description's pieces; `noise` adds N(0, (1/√hidden)²). */
  | { describe: string; noise?: boolean }
  /** (1−α)·mean + α·{from}: Unsloth's interpolation, tokenizing with the BASE tokenizer. */
  | { interpolate: { from: string | string[]; alpha: number } }
  | InitFunction;

export interface InitContext {
  matrix: tf.Tensor2D;
  role: "input" | "output";
  embedding: tf.Tensor2D;
  head: tf.Tensor2D | null;
  /** Rows [0, tokenRows) belong to the base tokenizer's tokens; rows from there on are padding. */
  tokenRows: number;
  baseTokenizer: HfTokenizer;
  initializerRange: number;
  /** Seeded standard normal source; every strategy that samples draws from it, in token order. */
  normal: () => number;
}

export interface NewToken {
  content: string;
  id: number;
  flags: AddedTokenFlags;
}

/** Applies `strategy` for one token. Returns a new [hidden] row owned by the caller. */
export function initRow(strategy: InitStrategy, context: InitContext, token: NewToken): tf.Tensor1D {
  if (typeof strategy === "function") return userInit(strategy, context, token);
  if (strategy === "random") return randomInit(context, context.initializerRange);
  if (strategy === "zeros") return zerosInit(context);
  if (strategy === "mean") return meanInit(context);
  if (strategy === "mvn-mean") return mvnMeanInit(context);
  if (strategy === "noisy-mean") return noisyMeanInit(context);
  if (typeof strategy === "object" && strategy !== null) {
    if ("random" in strategy) return randomInit(context, strategy.random.std);
    if ("from" in strategy) return fromTextInit(context, strategy.from);
    if ("describe" in strategy) return describeInit(context, strategy.describe, strategy.noise ?? false);
    if ("interpolate" in strategy) return interpolateInit(context, strategy.interpolate.from, strategy.interpolate.alpha);
  }
  throw new AddTokensError(`unknown init strategy ${JSON.stringify(strategy)}`, { token: token.content });
}

const NAMED_STRATEGIES = ["random", "zeros", "mean", "mvn-mean", "noisy-mean"] as const;

/**
 * Throws (through `checks`, naming `name`) unless `strategy` is one of the forms of InitStrategy —
 * before any row is computed, so a typo never reaches a strategy as a confusing failure.
 */
export function checkInitStrategy(checks: OptionChecks, name: string, strategy: unknown): void {
  if (strategy === undefined || typeof strategy === "function") return;
  if (typeof strategy === "string") return checks.oneOf(name, strategy, NAMED_STRATEGIES);
  const texts = (key: string, value: unknown) => {
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0 || !list.every((text) => typeof text === "string")) checks.fail(key, "must be a string or a non-empty list of strings", value);
  };
  const object = (typeof strategy === "object" && strategy !== null && !Array.isArray(strategy) ? strategy : {}) as Record<string, unknown>;
  const kind = ["random", "from", "describe", "interpolate"].find((key) => key in object);
  if (kind !== undefined) checks.knownKeys(object, kind === "describe" ? ["describe", "noise"] : [kind], name);
  if (kind === "random") {
    const random = object.random as { std?: unknown } | null;
    if (typeof random !== "object" || random === null) return checks.fail(`${name}.random`, "must be {std: number}", random);
    checks.knownKeys(random, ["std"], `${name}.random`);
    return checks.number(`${name}.random.std`, random.std ?? NaN, { min: 0 });
  }
  if (kind === "from") return texts(`${name}.from`, object.from);
  if (kind === "describe") {
    if (typeof object.describe !== "string") checks.fail(`${name}.describe`, "must be a string", object.describe);
    return checks.boolean(`${name}.noise`, object.noise);
  }
  if (kind === "interpolate") {
    const interpolate = object.interpolate as { from?: unknown; alpha?: unknown } | null;
    if (typeof interpolate !== "object" || interpolate === null) return checks.fail(`${name}.interpolate`, "must be {from, alpha}", interpolate);
    checks.knownKeys(interpolate, ["from", "alpha"], `${name}.interpolate`);
    texts(`${name}.interpolate.from`, interpolate.from);
    return checks.number(`${name}.interpolate.alpha`, interpolate.alpha ?? NaN, { min: 0, max: 1 });
  }
  checks.fail(
    name,
    `must be ${NAMED_STRATEGIES.map((s) => JSON.stringify(s)).join(", ")}, {random: {std}}, {from}, {describe, noise?}, {interpolate: {from, alpha}} or a function`,
    strategy,
  );
}

/** Short label for tables, e.g. `mean`, `from "-"`, `interpolate α=0.3 from "big"`. */
export function strategyLabel(strategy: InitStrategy): string {
  if (typeof strategy === "function") return `function ${strategy.name || "(anonymous)"}`;
  if (typeof strategy === "string") return strategy;
  const texts = (from: string | string[]) => (Array.isArray(from) ? from : [from]).map((t) => JSON.stringify(t)).join(", ");
  if ("random" in strategy) return `random std=${strategy.random.std}`;
  if ("from" in strategy) return `from ${texts(strategy.from)}`;
  if ("describe" in strategy) return `describe ${JSON.stringify(strategy.describe)}${strategy.noise ? " + noise" : ""}`;
  return `interpolate α=${strategy.interpolate.alpha} from ${texts(strategy.interpolate.from)}`;
}

/** The texts an init strategy tokenizes (to check none of them is itself a token being added). */
export function strategySourceTexts(strategy: InitStrategy): string[] {
  if (typeof strategy !== "object" || strategy === null) return [];
  if ("from" in strategy) return Array.isArray(strategy.from) ? strategy.from : [strategy.from];
  if ("interpolate" in strategy) {
    const from = strategy.interpolate.from;
    return Array.isArray(from) ? from : [from];
  }
  return [];
}

export function randomInit(context: InitContext, std: number): tf.Tensor1D {
  if (!(std >= 0) || !Number.isFinite(std)) throw new AddTokensError(`random init needs a finite std ≥ 0, got ${std}`, { std });
  const samples = gaussianSamples(context.normal, hidden(context));
  for (let i = 0; i < samples.length; i++) samples[i] *= std;
  return tf.tensor1d(samples);
}

export function zerosInit(context: InitContext): tf.Tensor1D {
  return tf.zeros([hidden(context)]);
}

/**
 * A [1, rows] weight vector (1/N on the N token rows, 0 on padding) times the matrix: the product
 * reads the matrix in place, where a sum over axis 0 would first transpose (copy) it — 350 MB per
 * call at 151,936 × 576.
 */
export function meanInit(context: InitContext): tf.Tensor1D {
  let mean = meanOfContext.get(context);
  if (mean === undefined) {
    const row = weightedRowSum(context, new Float32Array(context.tokenRows).fill(1 / context.tokenRows));
    mean = row.dataSync() as Float32Array;
    row.dispose();
    meanOfContext.set(context, mean);
  }
  return tf.tensor1d(mean.slice());
}

/**
 * The mean row of each context, computed once: every mean-based row of one addTokens call (its
 * tokens, its padding rows) reads the same matrix, and the product takes ~0.3 s at 151,936 × 576.
 */
const meanOfContext = new WeakMap<InitContext, Float32Array>();

/** Σᵢ weights[i]·row i over the token rows (weights.length of them), the matrix read in place (see meanInit). */
function weightedRowSum(context: InitContext, weights: Float32Array): tf.Tensor1D {
  const rows = context.matrix.shape[0];
  const padded = new Float32Array(rows);
  padded.set(weights);
  return tf.tidy(() => {
    const w = tf.tensor2d(padded, [1, rows]);
    return tf.reshape(isPacked(context.matrix) ? matMulBf16NN(w, context.matrix) : tf.matMul(w, context.matrix), [-1]) as tf.Tensor1D;
  });
}

/**
 * x = μ + √(1e-9/N)·X_cᵀg with g ~ N(0, I_N) and X_c the N centered token rows: its covariance is
 * 1e-9·X_cᵀX_c/N = 1e-9·Σ, exactly HF's distribution, without forming the [hidden, hidden] Σ or
 * its Cholesky factor. (HF falls back to μ when Σ is not positive definite; this samples the
 * degenerate Gaussian instead, which differs from μ by ~3e-5 standard deviations.)
 */
export function mvnMeanInit(context: InitContext): tf.Tensor1D {
  const count = context.tokenRows;
  const g = gaussianSamples(context.normal, count);
  let gSum = 0;
  for (const value of g) gSum += value;
  return tf.tidy(() => {
    // Both products read the matrix in place: no slice of the token rows, no transpose.
    const mean = meanInit(context);
    const centeredTimesG = tf.sub(weightedRowSum(context, g), tf.mul(gSum, mean));
    return tf.add(mean, tf.mul(centeredTimesG, Math.sqrt(1e-9 / count))) as tf.Tensor1D;
  });
}

export function noisyMeanInit(context: InitContext): tf.Tensor1D {
  return addNoise(context, meanInit(context));
}

export function fromTextInit(context: InitContext, from: string | string[]): tf.Tensor1D {
  const texts = Array.isArray(from) ? from : [from];
  if (texts.length === 0) throw new AddTokensError("init {from: []} needs at least one text");
  return tf.tidy(() => tf.stack(texts.map((text) => meanOfPieces(context, text, "from"))).mean(0) as tf.Tensor1D);
}

export function describeInit(context: InitContext, description: string, noise: boolean): tf.Tensor1D {
  const row = meanOfPieces(context, description, "describe");
  return noise ? addNoise(context, row) : row;
}

export function interpolateInit(context: InitContext, from: string | string[], alpha: number): tf.Tensor1D {
  if (!(alpha >= 0 && alpha <= 1)) throw new AddTokensError(`interpolate alpha must be in [0, 1], got ${alpha}`, { alpha });
  const mean = meanInit(context);
  const source = fromTextInit(context, from);
  const row = tf.tidy(() => tf.add(tf.mul(mean, 1 - alpha), tf.mul(source, alpha)) as tf.Tensor1D);
  tf.dispose([mean, source]);
  return row;
}

/** User functions read float32 matrices: packed ones (loadModel keepBf16) are widened for the call. */
function userInit(fn: InitFunction, context: InitContext, token: NewToken): tf.Tensor1D {
  const widened = new Map<tf.Tensor, tf.Tensor2D>();
  const float32 = <T extends tf.Tensor2D | null>(t: T): T => {
    if (t === null || !isPacked(t)) return t;
    if (!widened.has(t)) widened.set(t, unpackBf16(t) as tf.Tensor2D);
    return widened.get(t) as T;
  };
  try {
    return checkedUserRow(fn, { ...context, matrix: float32(context.matrix), embedding: float32(context.embedding), head: float32(context.head) }, token);
  } finally {
    tf.dispose([...widened.values()]);
  }
}

function checkedUserRow(fn: InitFunction, context: InitContext, token: NewToken): tf.Tensor1D {
  const result = fn({
    matrix: context.matrix,
    role: context.role,
    embedding: context.embedding,
    head: context.head,
    baseTokenizer: context.baseTokenizer,
    token,
  });
  const fail = (got: string): never => {
    throw new AddTokensError(
      `init function for ${JSON.stringify(token.content)} (${context.role} row) must return a tensor1d, Float32Array or number[] of ${hidden(context)} finite numbers; it returned ${got}`,
      { token: token.content, role: context.role },
    );
  };
  if (result instanceof tf.Tensor) {
    const shape = result.shape;
    const values = result.dataSync();
    if (!isBorrowed(result, context)) result.dispose();
    if (shape.length !== 1 || shape[0] !== hidden(context)) fail(`a tensor of shape [${shape}]`);
    return checkedRow(values, fail);
  }
  if (!(result instanceof Float32Array) && !Array.isArray(result)) fail(result === null ? "null" : typeof result);
  if (result.length !== hidden(context)) fail(`${result.length} values`);
  return checkedRow(Float32Array.from(result), fail);
}

function checkedRow(values: ArrayLike<number>, fail: (got: string) => never): tf.Tensor1D {
  const bad = Array.from(values).findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
  if (bad >= 0) fail(`${values[bad]} at index ${bad}`);
  return tf.tensor1d(Float32Array.from(values));
}

function isBorrowed(tensor: tf.Tensor, context: InitContext): boolean {
  return tensor === context.matrix || tensor === context.embedding || tensor === context.head;
}

/** Mean row of the pieces the base tokenizer makes of `text`. */
function meanOfPieces(context: InitContext, text: string, what: string): tf.Tensor1D {
  const ids = context.baseTokenizer.encode(text);
  if (ids.length === 0) throw new AddTokensError(`init {${what}: ${JSON.stringify(text)}} tokenizes to nothing`, { text });
  return tf.tidy(() => gatherRows(context.matrix, tf.tensor1d(ids, "int32")).mean(0) as tf.Tensor1D);
}

function addNoise(context: InitContext, row: tf.Tensor1D): tf.Tensor1D {
  const d = hidden(context);
  const noise = gaussianSamples(context.normal, d);
  const std = 1 / Math.sqrt(d);
  for (let i = 0; i < d; i++) noise[i] *= std;
  const noisy = tf.tidy(() => tf.add(row, tf.tensor1d(noise)) as tf.Tensor1D);
  row.dispose();
  return noisy;
}


function hidden(context: InitContext): number {
  return isPacked(context.matrix) ? context.matrix.shape[1] * 2 : context.matrix.shape[1];
}
