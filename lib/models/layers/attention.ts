import * as tf from "@tensorflow/tfjs-core";
import { matMul, swapLastAxes } from "./linear";

/**
 * Added to the scores of masked positions: the lowest float32, as transformers uses. It absorbs
 * any score (MASKED + s = MASKED), so a query with every key masked attends exactly uniformly.
 */
const MASKED = -3.4028234663852886e38;

/**
 * Additive attention bias [B or 1, 1, T, S] for T queries at absolute positions offset..offset+T-1
 * over S = offset + T keys: causal, plus padding (attentionMask [B, S], 1 = real token) when given.
 * With a sliding `window`, a query sees only the last `window` positions (itself included), as
 * Mistral / Qwen2 sliding-window layers do.
 */
export function attentionBias(queryLength: number, offset: number, attentionMask?: tf.Tensor2D, window?: number | null): tf.Tensor {
  const keyLength = offset + queryLength;
  const causal = new Float32Array(queryLength * keyLength);
  for (let i = 0; i < queryLength; i++) {
    const position = offset + i;
    const first = window ? Math.max(0, position - window + 1) : 0;
    for (let j = first; j <= position; j++) causal[i * keyLength + j] = 1;
  }
  const allowed = tf.tensor4d(causal, [1, 1, queryLength, keyLength]);
  // A key is either allowed (bias 0) or masked (bias MASKED), never doubly masked: a query whose
  // keys are all masked (a padding position) then attends uniformly, as in transformers.
  const both = attentionMask
    ? tf.mul(allowed, tf.reshape(tf.cast(attentionMask, "float32"), [attentionMask.shape[0], 1, 1, keyLength]))
    : allowed;
  return tf.mul(tf.sub(1, both), MASKED);
}

/**
 * softmax(q·kᵀ/√hd + bias)·v with grouped-query attention: q [B, nh, T, hd]; k, v [B, nkv, S, hd]
 * where each key/value head serves nh/nkv consecutive query heads (transformers' repeat_kv).
 * Instead of repeating k and v, the query heads of a group are stacked along the time axis, so
 * the matMuls run once per key/value head. k is transposed explicitly (see linear.ts).
 * bias [B or 1, 1, T, S]; → [B, nh, T, hd].
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const [b, nh, t, hd] = q.shape as number[];
  const nkv = k.shape[1]!;
  const s = k.shape[2]!;
  const groups = nh / nkv;
  const grouped = tf.reshape(q, [b, nkv, groups * t, hd]);
  const scores = tf.mul(matMul(grouped, swapLastAxes(k)), 1 / Math.sqrt(hd)); // [B, nkv, groups·T, S]
  const masked = tf.add(tf.reshape(scores, [b, nkv, groups, t, s]), tf.expandDims(bias, 2));
  const probabilities = tf.reshape(tf.softmax(masked, -1), [b, nkv, groups * t, s]);
  return tf.reshape(matMul(probabilities, v), [b, nh, t, hd]);
}

/** [B, T, n·hd] → [B, n, T, hd] */
export function splitHeads(x: tf.Tensor, heads: number, headDim: number): tf.Tensor {
  const [b, t] = x.shape;
  return tf.transpose(tf.reshape(x, [b, t, heads, headDim]), [0, 2, 1, 3]);
}

/** [B, n, T, hd] → [B, T, n·hd] */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [b, n, t, hd] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, t, n * hd]);
}
