import * as tf from "@tensorflow/tfjs-core";

export interface ClippedGradients {
  /** New tensors (scaled, or copies when no clipping was needed); the caller disposes them. */
  grads: Record<string, tf.Tensor>;
  /** L2 norm over all gradients before clipping. */
  totalNorm: number;
  /** L2 norm of each named group's gradients before clipping (names absent from `grads` count as 0). */
  groupNorms: Record<string, number>;
}

/**
 * Scales all gradients by min(1, maxNorm / (totalNorm + 1e-6)), as torch.nn.utils.clip_grad_norm_
 * does, and reports the norms (one device read for all of them). `maxNorm` = Infinity only measures.
 */
export function clipGradients(
  grads: Readonly<Record<string, tf.Tensor>>,
  maxNorm: number,
  groups: Readonly<Record<string, readonly string[]>> = {},
): ClippedGradients {
  const names = Object.keys(grads);
  const groupNames = Object.keys(groups);
  const squares = tf.tidy(() => {
    const perTensor = new Map(names.map((n) => [n, tf.sum(tf.square(grads[n]))]));
    const zero = tf.scalar(0);
    const total = names.length > 0 ? tf.addN([...perTensor.values()]) : zero;
    const perGroup = groupNames.map((g) => {
      const members = groups[g].filter((n) => perTensor.has(n)).map((n) => perTensor.get(n)!);
      return members.length > 0 ? tf.addN(members) : zero;
    });
    return tf.stack([total, ...perGroup]);
  });
  const values = squares.dataSync();
  squares.dispose();
  const totalNorm = Math.sqrt(values[0]);
  const scale = Math.min(1, maxNorm / (totalNorm + 1e-6));
  const clipped: Record<string, tf.Tensor> = {};
  for (const n of names) clipped[n] = scale < 1 ? tf.mul(grads[n], scale) : tf.clone(grads[n]);
  const groupNorms: Record<string, number> = {};
  groupNames.forEach((g, i) => (groupNorms[g] = Math.sqrt(values[i + 1])));
  return { grads: clipped, totalNorm, groupNorms };
}
