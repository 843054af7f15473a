import * as tf from "@tensorflow/tfjs-core";

export interface Neighbour {
  id: number;
  similarity: number;
}

/**
 * For each query row, the `k` rows of `candidates` (float32 [candidateRows, hidden], row i = id i,
 * e.g. leadingMatrixRows) with the highest cosine similarity, best first. `queries` [n, hidden];
 * tensors are borrowed, nothing is kept.
 */
export function nearestRows(candidates: tf.Tensor2D, queries: tf.Tensor2D, k = 5): Neighbour[][] {
  const candidateRows = candidates.shape[0];
  if (queries.shape[0] === 0 || candidateRows === 0) return Array.from({ length: queries.shape[0] }, () => []);
  const { values, indices } = tf.tidy(() => {
    const unit = (m: tf.Tensor2D) => tf.div(m, tf.maximum(tf.norm(m, 2, 1, true), 1e-12)) as tf.Tensor2D;
    const similarity = tf.matMul(unit(queries), unit(candidates), false, true); // [n, candidateRows]
    return tf.topk(similarity, Math.min(k, candidateRows));
  });
  const sims = values.arraySync() as number[][];
  const ids = indices.arraySync() as number[][];
  tf.dispose([values, indices]);
  return ids.map((row, i) => row.map((id, j) => ({ id, similarity: sims[i][j] })));
}
