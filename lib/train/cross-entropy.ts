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
 * of a position is the token that position should predict). No dense one-hot [N, V] is built:
 * the loss reads each position's label column, and the gradient softmax − onehot is formed by
 * scaling softmax and updating the N label entries in place. All returned tensors are new; the
 * caller disposes them (or calls this inside tf.tidy / a gradient function).
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): CrossEntropy {
  const vocab = logits.shape[logits.shape.length - 1];
  if (labels.shape.join(",") !== logits.shape.slice(0, -1).join(",")) {
    throw new TokenlabError(`labels shape [${labels.shape}] does not match logits [${logits.shape}] without the vocab axis`);
  }
  const labelValues = labels.dataSync();
  const outOfRange = labelValues.find((l) => l !== IGNORE_INDEX && (l < 0 || l >= vocab || !Number.isInteger(l)));
  if (outOfRange !== undefined) throw new TokenlabError(`label ${outOfRange} is outside the vocabulary [0, ${vocab})`, { label: outOfRange });
  const positions = labelValues.length;
  const labelColumn = new Int32Array(positions);
  const countedValues = new Float32Array(positions);
  for (let i = 0; i < positions; i++) {
    const counts = labelValues[i] !== IGNORE_INDEX;
    labelColumn[i] = counts ? labelValues[i] : 0; // any valid column; its loss is multiplied by 0
    countedValues[i] = counts ? 1 : 0;
  }
  return tf.tidy(() => {
    const nll = negativeLogLikelihood(tf.reshape(logits, [positions, vocab]), labelColumn); // [N]
    const counted = tf.tensor1d(countedValues);
    const perPosition = tf.mul(nll, counted);
    const countedTotal = Math.max(1, countedValues.reduce((a, b) => a + b, 0));
    const loss = tf.div(tf.sum(perPosition), countedTotal) as tf.Scalar;
    return { loss, perPosition: tf.reshape(perPosition, labels.shape), counted: tf.reshape(counted, labels.shape) };
  });
}

/**
 * −log softmax(z)[i, label_i] for z [N, V]. With m = max z and p = softmax(z), max p = 1/Σexp(z−m),
 * so −log p_label = m − z_label − log(max p): one fused softmax kernel and row reductions, no
 * elementwise exp/log over [N, V] (slow on wasm), and no underflow for unlikely labels.
 * Gradient: (p − onehot(label)) · dy, built from p without materializing the one-hot.
 */
function negativeLogLikelihood(z: tf.Tensor2D, labelColumn: Int32Array): tf.Tensor1D {
  const [positions, vocab] = z.shape;
  const flatIndex = tf.tensor1d(labelColumn.map((label, i) => i * vocab + label), "int32");
  const entryIndex = tf.tensor2d(Array.from(labelColumn, (label, i) => [i, label]), [positions, 2], "int32");
  const nll = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [logits, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const p = tf.softmax(logits);
    save([p, flatIndex, entryIndex]); // saved: they must outlive the tidy for the backward pass
    const labelLogit = tf.gather(tf.reshape(logits, [-1]), flatIndex);
    const value = tf.sub(tf.sub(tf.max(logits, -1), labelLogit), tf.log(tf.max(p, -1)));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [probabilities, flat, entries] = saved;
        const scaled = tf.mul(probabilities, tf.reshape(dy, [positions, 1])); // p · dy
        const atLabel = tf.sub(tf.gather(tf.reshape(scaled, [-1]), flat), dy); // (p_label − 1) · dy
        return tf.tensorScatterUpdate(scaled, entries, atLabel);
      },
    };
  });
  return nll(z) as tf.Tensor1D;
}
