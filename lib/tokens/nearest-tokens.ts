import * as tf from "@tensorflow/tfjs-core";
import { rowSlice } from "../models/packed-weights";

export interface Neighbour {
  id: number;
  similarity: number;
}

/**
 * Candidate rows compared at a time: a whole 151k-row embedding widened and normalized at once would
 * be two more vocabulary-sized float32 copies (1.2 GB at hidden 1024) on a heap that already holds the model.
 */
export const ROW_CHUNK = 16_384;

/**
 * For each query row, the `k` rows of `matrix` among ids [0, candidateRows) with the highest cosine
 * similarity, best first. `queries` [n, hidden]; tensors are borrowed, nothing is kept.
 */
export function nearestRows(matrix: tf.Tensor2D, candidateRows: number, queries: tf.Tensor2D, k = 5): Neighbour[][] {
  const n = queries.shape[0];
  if (n === 0 || candidateRows === 0) return Array.from({ length: n }, () => []);
  const best: Neighbour[][] = Array.from({ length: n }, () => []);
  const unitQueries = tf.tidy(() => unit(queries));
  try {
    for (let start = 0; start < candidateRows; start += ROW_CHUNK) {
      const size = Math.min(ROW_CHUNK, candidateRows - start);
      const { values, indices } = tf.tidy(() => {
        const candidates = unit(rowSlice(matrix, start, size)); // widened when packed (loadModel keepBf16)
        return tf.topk(tf.matMul(unitQueries, candidates, false, true), Math.min(k, size)); // [n, k] of this chunk
      });
      const sims = values.arraySync() as number[][];
      const ids = indices.arraySync() as number[][];
      tf.dispose([values, indices]);
      ids.forEach((row, i) => {
        const merged = [...best[i], ...row.map((id, j) => ({ id: start + id, similarity: sims[i][j] }))];
        // Stable sort: among equal similarities the lower id stays first, as one topk over all rows would keep it.
        best[i] = merged.sort((a, b) => b.similarity - a.similarity).slice(0, k);
      });
    }
  } finally {
    unitQueries.dispose();
  }
  return best;
}

function unit(m: tf.Tensor2D): tf.Tensor2D {
  return tf.div(m, tf.maximum(tf.norm(m, 2, 1, true), 1e-12));
}
