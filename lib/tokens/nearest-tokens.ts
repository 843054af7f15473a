import * as tf from "@tensorflow/tfjs-core";
import { forEachRowChunk, type RowReader } from "../models/model-rows";

export interface Neighbour {
  id: number;
  similarity: number;
}

/**
 * For each query row, the `k` rows among ids [0, candidateRows) of the matrix `read` reads (e.g.
 * model-rows.ts matrixRowReader) with the highest cosine similarity, best first. `queries`
 * [n, hidden] is borrowed. The candidates are scanned a chunk of rows at a time, so all queries
 * should come in one call.
 */
export function nearestRows(read: RowReader, candidateRows: number, queries: tf.Tensor2D, k = 5): Neighbour[][] {
  const n = queries.shape[0];
  const best: Neighbour[][] = Array.from({ length: n }, () => []);
  if (n === 0 || candidateRows === 0) return best;
  const unitQueries = tf.tidy(() => unit(queries));
  try {
    forEachRowChunk(read, candidateRows, (rows, start) => {
      const { values, indices } = tf.topk(tf.matMul(unitQueries, unit(rows), false, true), Math.min(k, rows.shape[0])); // this chunk's best
      const sims = values.arraySync() as number[][];
      (indices.arraySync() as number[][]).forEach((ids, i) => {
        const merged = [...best[i], ...ids.map((id, j) => ({ id: start + id, similarity: sims[i][j] }))];
        // A stable sort: among equal similarities the lower id stays first, as one topk over all rows keeps it.
        best[i] = merged.sort((a, b) => b.similarity - a.similarity).slice(0, k);
      });
    });
  } finally {
    unitQueries.dispose();
  }
  return best;
}

function unit(m: tf.Tensor2D): tf.Tensor2D {
  return tf.div(m, tf.maximum(tf.norm(m, 2, 1, true), 1e-12));
}
