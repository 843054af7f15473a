import * as tf from "@tensorflow/tfjs-core";
import { TokenlabError } from "../errors/tokenlab-error";

/** Label value of positions that do not count (as in PyTorch / transformers). */
export const IGNORE_INDEX = -100;

export interface CrossEntropy {
  /** Mean loss over the counted positions (0 when none counts). */
  loss: tf.Scalar;
  /** Loss per position, shaped like the labels; 0 where the label is IGNORE_INDEX. */
  perPosition: tf.Tensor;
  /** 1 where the position counts, else 0; shaped like the labels. */
  counted: tf.Tensor;
}

/**
 * Cross-entropy of `logits` [..., V] against integer `labels` [...] (already aligned: the label
 * of a position is the token that position should predict). Computed as logSoftmax followed by a
 * gather of each position's label column: no dense one-hot [N, V] is built, and the gradient
 * reaches only the logits through logSoftmax. All returned tensors are new; the caller disposes them
 * (or calls this inside tf.tidy / a gradient function).
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): CrossEntropy {
  const vocab = logits.shape[logits.shape.length - 1];
  if (labels.shape.join(",") !== logits.shape.slice(0, -1).join(",")) {
    throw new TokenlabError(`labels shape [${labels.shape}] does not match logits [${logits.shape}] without the vocab axis`);
  }
  const labelValues = labels.dataSync();
  const outOfRange = labelValues.find((l) => l !== IGNORE_INDEX && (l < 0 || l >= vocab || !Number.isInteger(l)));
  if (outOfRange !== undefined) throw new TokenlabError(`label ${outOfRange} is outside the vocabulary [0, ${vocab})`, { label: outOfRange });
  return tf.tidy(() => {
    const positions = labelValues.length;
    const logProbabilities = tf.logSoftmax(tf.reshape(logits, [positions, vocab])); // [N, V]
    const flatIndex = new Int32Array(positions);
    const countedValues = new Float32Array(positions);
    for (let i = 0; i < positions; i++) {
      const counted = labelValues[i] !== IGNORE_INDEX;
      flatIndex[i] = i * vocab + (counted ? labelValues[i] : 0);
      countedValues[i] = counted ? 1 : 0;
    }
    const picked = tf.gather(tf.reshape(logProbabilities, [-1]), tf.tensor1d(flatIndex, "int32")); // [N]
    const counted = tf.tensor1d(countedValues);
    const perPosition = tf.mul(tf.neg(picked), counted);
    const countedTotal = Math.max(1, countedValues.reduce((a, b) => a + b, 0));
    const loss = tf.div(tf.sum(perPosition), countedTotal) as tf.Scalar;
    return { loss, perPosition: tf.reshape(perPosition, labels.shape), counted: tf.reshape(counted, labels.shape) };
  });
}
