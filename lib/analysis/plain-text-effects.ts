import * as tf from "@tensorflow/tfjs-core";
import { IGNORE_INDEX, type PackedSequence } from "../data/pack";
import { TokenlabError } from "../errors/tokenlab-error";
import type { CausalLM } from "../models/causal-lm";
import { forEachPositionChunk, tokenLogProbs, widenColumns } from "../models/token-log-probs";
import { batchTensors } from "../train/train-step";
import { vocabRows as rowsOf } from "../models/model-rows";

/** Far below any real logit, yet finite: 0 · (this − x) stays 0 in KL sums, where −∞ would give NaN. */
const OUTSIDE = -1e30;

export interface NewTokenMass {
  id: number;
  token: string;
  /** Mean and max over the plain text's target positions of the probability of this token. */
  mean: number;
  max: number;
}

/**
 * What training did to text without new tokens, split into its two effects:
 *
 * - **mass taken by the new tokens**: p_model(new ids) at each position. The model did not forget
 *   anything here, it only predicts a new token where the text has none;
 * - **forgetting**: the model's distribution over the *base vocabulary* (the base's tokens, without
 *   the new ids and without padding rows), renormalized, compared with the base's over the same ids.
 *
 * When the new ids are not tokens of the base, the full-softmax figures are exactly the sum of the two
 * (per position p_full(v) = (1 − m) · q(v) for a base token v, m the new-token mass):
 *   log(plainTextPerplexity) = log(baseVocabPerplexity) + mean −log(1 − m),
 *   klToBase                 = forgettingKl            + mean −log(1 − m).
 */
export interface PlainTextEffects {
  /** Target positions of the plain text. */
  positions: number;
  /** Full softmax over the model's tokens (new ones included, padding rows excluded): both effects mixed. */
  plainTextPerplexity: number;
  klToBase: number;
  /** Probability on all new tokens together, mean and max over positions; and per new token. */
  newTokenMassMean: number;
  newTokenMassMax: number;
  newTokenMass: NewTokenMass[];
  /** Perplexity under the model renormalized over the base vocabulary: forgetting only. */
  baseVocabPerplexity: number;
  /** Mean KL(base ‖ model), both renormalized over the base vocabulary (NaN without base). */
  forgettingKl: number;
  /** The base model's own perplexity on the plain text, over its tokens (NaN without base): the reference. */
  basePerplexity: number;
}

/**
 * Runs `model` (and `base`, when given) over plain-text rows and measures both effects. Padding rows
 * are excluded from every distribution: they are ids no tokenizer produces, so mass there is mass on
 * nothing (and addTokens may have reused them for the new tokens).
 */
export function plainTextEffects(model: CausalLM, base: CausalLM | undefined, rows: readonly PackedSequence[], newIds: readonly number[], batchSize: number): PlainTextEffects {
  const vocabRows = rowsOf(model);
  const baseRows = base ? rowsOf(base) : vocabRows;
  if (baseRows > vocabRows) throw new TokenlabError(`evaluate: the base has ${baseRows} vocabulary rows, more than the model's ${vocabRows}; pass the model before adding tokens as base`);
  const isNew = new Set(newIds);
  const inBaseVocab = (id: number) =>
    id < baseRows && !isNew.has(id) && model.tokenizer.idToToken(id) !== undefined && (base === undefined || base.tokenizer.idToToken(id) !== undefined);
  for (const row of rows) {
    const seen = [...row.inputIds.filter((_, t) => row.attentionMask[t] !== 0), ...row.labels.filter((l) => l !== IGNORE_INDEX)];
    const id = seen.find((i) => !inBaseVocab(i));
    if (id !== undefined) {
      throw new TokenlabError(
        `evaluate: the plain text contains token id ${id} (${JSON.stringify(model.tokenizer.idToToken(id) ?? null)}), which is a new token or no token of the base; plain text must be text without new tokens`,
        { id },
      );
    }
  }
  // The same mask for both models: identical logits on these ids give bit-identical distributions.
  const baseVocabBias = new Float32Array(vocabRows).map((_, id) => (inBaseVocab(id) ? 0 : OUTSIDE));

  const sums = { full: 0, renorm: 0, base: 0, kl: 0, forgetting: 0, mass: 0, massMax: 0, n: 0 };
  const perToken = newIds.map(() => ({ sum: 0, max: 0 }));
  const newIdTensor = tf.tensor1d(newIds as number[], "int32");
  const vocabBias = tf.tensor1d(baseVocabBias);
  try {
    for (let start = 0; start < rows.length; start += batchSize) {
      const { inputIds, attentionMask, labels, flatLabels } = batchTensors(rows.slice(start, start + batchSize));
      const positions = flatLabels.length;
      const logitsOf = (lm: CausalLM, columns: number) => tf.tidy(() => tf.reshape(lm.forward(lm.weights, inputIds, attentionMask), [positions, columns]) as tf.Tensor2D);
      let logits: tf.Tensor2D | undefined;
      let baseLogits: tf.Tensor2D | undefined;
      try {
        logits = logitsOf(model, vocabRows);
        baseLogits = base && logitsOf(base, baseRows);
        forEachPositionChunk(baseLogits ? [logits, baseLogits] : [logits], ([chunk, baseChunk], first) => {
          const at = flatLabels.slice(first, first + chunk.shape[0]);
          const full = tokenLogProbs(chunk, model.tokenizer);
          const renorm = tf.logSoftmax(tf.add(chunk, vocabBias)) as tf.Tensor2D;
          const values: Record<string, Float32Array | Int32Array | Uint8Array> = { full: atLabels(full, at).dataSync(), renorm: atLabels(renorm, at).dataSync() };
          if (newIds.length > 0) values.newProbs = tf.exp(tf.gather(full, newIdTensor, 1)).dataSync(); // [count, n]
          if (baseChunk) {
            // Widened to the model's rows: p_base is 0 on the rows beyond the base's, which add nothing.
            const wide = widenColumns(baseChunk, vocabRows);
            const baseFull = tokenLogProbs(wide, base!.tokenizer);
            const baseRenorm = tf.logSoftmax(tf.add(wide, vocabBias)) as tf.Tensor2D;
            values.base = atLabels(baseFull, at).dataSync();
            values.kl = tf.sum(tf.mul(tf.exp(baseFull), tf.sub(baseFull, full)), -1).dataSync();
            values.forgetting = tf.sum(tf.mul(tf.exp(baseRenorm), tf.sub(baseRenorm, renorm)), -1).dataSync();
          }
          at.forEach((label, p) => {
            if (label === IGNORE_INDEX) return;
            sums.n++;
            sums.full -= values.full[p];
            sums.renorm -= values.renorm[p];
            if (base) (sums.base -= values.base[p]), (sums.kl += values.kl[p]), (sums.forgetting += values.forgetting[p]);
            let mass = 0;
            perToken.forEach((t, k) => {
              const q = values.newProbs[p * newIds.length + k];
              (t.sum += q), (t.max = Math.max(t.max, q)), (mass += q);
            });
            sums.mass += mass;
            sums.massMax = Math.max(sums.massMax, mass);
          });
        });
      } finally {
        tf.dispose([logits, baseLogits, inputIds, attentionMask, labels].filter((t) => t !== undefined));
      }
    }
  } finally {
    tf.dispose([newIdTensor, vocabBias]);
  }
  const n = sums.n;
  const mean = (s: number) => (n > 0 ? s / n : NaN);
  const withBase = (s: number) => (base ? mean(s) : NaN);
  return {
    positions: n,
    plainTextPerplexity: Math.exp(mean(sums.full)),
    klToBase: withBase(sums.kl),
    newTokenMassMean: mean(sums.mass),
    newTokenMassMax: n > 0 ? sums.massMax : NaN,
    newTokenMass: newIds.map((id, k) => ({ id, token: model.tokenizer.decode([id]), mean: mean(perToken[k].sum), max: n > 0 ? perToken[k].max : NaN })),
    baseVocabPerplexity: Math.exp(mean(sums.renorm)),
    forgettingKl: withBase(sums.forgetting),
    basePerplexity: Math.exp(withBase(sums.base)),
  };
}

/** logProbs [N, V] read at one column per position (IGNORE_INDEX reads column 0, never counted) → [N]. */
function atLabels(logProbs: tf.Tensor2D, labels: readonly number[]): tf.Tensor {
  const vocab = logProbs.shape[1];
  return tf.gather(tf.reshape(logProbs, [-1]), tf.tensor1d(labels.map((label, i) => i * vocab + (label === IGNORE_INDEX ? 0 : label)), "int32"));
}
