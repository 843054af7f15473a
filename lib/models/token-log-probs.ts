import * as tf from "@tensorflow/tfjs-core";

/** Far below any real logit, yet finite: 0 · (this − x) stays 0 in KL sums, where −∞ would give NaN. */
const NOT_A_TOKEN = -1e30;

type TokenLookup = { idToToken(id: number): string | undefined };

/**
 * Per tokenizer (immutable: adding tokens makes a new one) and row count, NOT_A_TOKEN on its padding
 * rows, or null without any: callers run tokenLogProbs once per batch or chunk of positions, and
 * finding the padding rows of a 150k vocabulary takes 150k lookups.
 */
const biases = new WeakMap<TokenLookup, Map<number, Float32Array | null>>();

function paddingBias(tokenizer: TokenLookup, rows: number): Float32Array | null {
  const byRows = biases.get(tokenizer) ?? new Map<number, Float32Array | null>();
  biases.set(tokenizer, byRows);
  if (!byRows.has(rows)) {
    const bias = new Float32Array(rows);
    let padding = 0;
    for (let id = 0; id < rows; id++) {
      if (tokenizer.idToToken(id) === undefined) (bias[id] = NOT_A_TOKEN), padding++;
    }
    byRows.set(rows, padding === 0 ? null : bias);
  }
  return byRows.get(rows)!;
}

/**
 * log-probabilities over a model's tokens from its logits [..., rows]: padding rows (ids its tokenizer
 * never produces, e.g. Qwen's rows beyond the vocabulary) get no probability. Comparisons between a
 * base and an extended model need this: addTokens puts new tokens into the base's padding rows, and
 * the base's mass on those rows is mass on nothing.
 */
export function tokenLogProbs<T extends tf.Tensor>(logits: T, tokenizer: TokenLookup): T {
  const bias = paddingBias(tokenizer, logits.shape[logits.rank - 1]!);
  if (bias === null) return tf.logSoftmax(logits);
  return tf.tidy(() => tf.logSoftmax(tf.add(logits, tf.tensor1d(bias)) as T));
}

/**
 * A base model's logits [positions, rows] widened to an extended model's `columns` with NOT_A_TOKEN:
 * its distributions then get no probability on the rows it lacks and line up with the extended
 * model's column by column, without slicing the extended ones (a strided copy of a vocabulary-sized
 * tensor). Returns `logits` itself when it is already that wide.
 */
export function widenColumns(logits: tf.Tensor2D, columns: number): tf.Tensor2D {
  const rows = logits.shape[1];
  return columns > rows ? tf.pad(logits, [[0, 0], [0, columns - rows]], NOT_A_TOKEN) : logits;
}

/**
 * How many rows of `valuesPerRow` logits fit in `budget` values (at least 1): callers that turn
 * [rows, vocab] logits into several same-sized tensors at once bound the rows by it, so a
 * 128k–150k vocabulary does not crowd the 4 GB wasm heap beside the model.
 */
export function rowsWithinBudget(budget: number, valuesPerRow: number): number {
  return Math.max(1, Math.floor(budget / Math.max(1, valuesPerRow)));
}

/**
 * Logits values one chunk of positions turns into log-probabilities at a time: each chunk makes
 * several [positions, vocabRows] tensors, and 500 positions at a 128k vocabulary would be 256 MB
 * each, beside a 2.5 GB model in the 4 GB wasm heap (where an allocation past the end fails).
 */
const LOGITS_PER_CHUNK = 2 ** 23;

/**
 * Visits the same positions of several logits tensors [positions, *] a chunk of leading rows at a
 * time (LOGITS_PER_CHUNK values of the widest), each visit inside its own tf.tidy: whatever a visit
 * makes is freed before the next chunk's.
 */
export function forEachPositionChunk(logits: readonly tf.Tensor2D[], visit: (chunks: tf.Tensor2D[], start: number) => void): void {
  const positions = logits[0].shape[0];
  const perChunk = rowsWithinBudget(LOGITS_PER_CHUNK, Math.max(...logits.map((t) => t.shape[1])));
  for (let start = 0; start < positions; start += perChunk) {
    const count = Math.min(perChunk, positions - start);
    tf.tidy(() => visit(logits.map((t) => t.slice([start, 0], [count, -1])), start));
  }
}
