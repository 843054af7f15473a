import * as tf from "@tensorflow/tfjs-core";
import { matMulBf16 } from "../../backend/wasm-bf16-matmul";
import { isPacked } from "../packed-weights";

/** Swaps the last two axes: [..., m, n] → [..., n, m]. */
export function swapLastAxes(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
  return tf.transpose(x, perm);
}

/**
 * a·b for equal-rank a [..., m, k] and b [..., k, n], with a gradient made of untransposed
 * matMuls; for attention, where both inputs always need their gradient. (`linear` uses tf.matMul:
 * its gradient is lazy per input, so a frozen weight gets no gradient computed.)
 */
export const matMul = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [aSaved, bSaved] = saved;
      return [tf.matMul(dy, swapLastAxes(bSaved)), tf.matMul(swapLastAxes(aSaved), dy)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** x [..., in] · w [in, out] (+ bias [out]) → [..., out]; a packed w is [out, in / 2] (packed-weights.ts). */
export function linear(x: tf.Tensor, w: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const packed = isPacked(w);
  const [inFeatures, outFeatures] = packed ? [w.shape[1]! * 2, w.shape[0]!] : [w.shape[0]!, w.shape[1]!];
  const leading = x.shape.slice(0, -1);
  const flat = tf.reshape(x, [-1, inFeatures]);
  const y = packed ? matMulBf16(flat, w) : tf.matMul(flat, w); // [N, out]
  const withBias = bias ? tf.add(y, bias) : y;
  return tf.reshape(withBias, [...leading, outFeatures]);
}
