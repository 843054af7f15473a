import * as tf from "@tensorflow/tfjs-core";

export interface ClippedGradients {
  /** New tensors (scaled, or copies when no clipping was needed); the caller disposes them. */
  grads: Record<string, tf.Tensor>;
  /** L2 norm over all gradients before clipping. */
  totalNorm: number;
  /** L2 norm of each named group's gradients before clipping (names absent from `grads` count as 0). */
  groupNorms: Record<string, number>;
}

/** The L2 norm of all gradients and of each named group's (names absent from `grads` count as 0). */
export interface GradientNorms {
  totalNorm: number;
  groupNorms: Record<string, number>;
}

/**
 * The gradient norms, with one device read for all of them. Each tensor's square is freed as soon
 * as it is summed: squaring every gradient at once held a second copy of all of them.
 */
export function gradientNorms(grads: Readonly<Record<string, tf.Tensor>>, groups: Readonly<Record<string, readonly string[]>> = {}): GradientNorms {
  const names = Object.keys(grads);
  const groupNames = Object.keys(groups);
  const perTensor = new Map(names.map((n) => [n, tf.tidy(() => tf.sum(tf.square(grads[n])))]));
  const squares = tf.tidy(() => {
    const zero = tf.scalar(0);
    const total = names.length > 0 ? tf.addN([...perTensor.values()]) : zero;
    const perGroup = groupNames.map((g) => {
      const members = groups[g].filter((n) => perTensor.has(n)).map((n) => perTensor.get(n)!);
      return members.length > 0 ? tf.addN(members) : zero;
    });
    return tf.stack([total, ...perGroup]);
  });
  tf.dispose([...perTensor.values()]);
  const values = squares.dataSync();
  squares.dispose();
  const groupNorms: Record<string, number> = {};
  groupNames.forEach((g, i) => (groupNorms[g] = Math.sqrt(values[i + 1])));
  return { totalNorm: Math.sqrt(values[0]), groupNorms };
}

/** torch.nn.utils.clip_grad_norm_'s factor: min(1, maxNorm / (totalNorm + 1e-6)). */
export function clipScale(totalNorm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (totalNorm + 1e-6));
}

/**
 * Scales all gradients by min(1, maxNorm / (totalNorm + 1e-6)), as torch.nn.utils.clip_grad_norm_
 * does, and reports the norms. `maxNorm` = Infinity only measures. (Training passes the factor
 * to AdamW instead of making scaled copies.)
 */
export function clipGradients(
  grads: Readonly<Record<string, tf.Tensor>>,
  maxNorm: number,
  groups: Readonly<Record<string, readonly string[]>> = {},
): ClippedGradients {
  const { totalNorm, groupNorms } = gradientNorms(grads, groups);
  const scale = clipScale(totalNorm, maxNorm);
  const clipped: Record<string, tf.Tensor> = {};
  for (const n of Object.keys(grads)) clipped[n] = scale < 1 ? tf.mul(grads[n], scale) : tf.clone(grads[n]);
  return { grads: clipped, totalNorm, groupNorms };
}
