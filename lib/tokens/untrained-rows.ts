import * as tf from "@tensorflow/tfjs-core";
import { gatherRows, isPacked, rowSlice } from "../models/packed-weights";
import { ROW_CHUNK } from "./nearest-tokens";
import { seededGaussian } from "./seeded-gaussian";

/**
 * Rows among [0, tokenRows) that look untrained: all-zero (every |x| ≤ 1e-16, Unsloth's
 * `fix_untrained_tokens` test) and duplicated (bit-identical to another row — e.g. several new
 * tokens all initialized with the same mean). Tensors are borrowed.
 */
export function untrainedRows(matrix: tf.Tensor2D, tokenRows: number): { zero: number[]; duplicated: number[][] } {
  const hidden = isPacked(matrix) ? matrix.shape[1] * 2 : matrix.shape[1];
  const normal = seededGaussian(12345);
  const directions = Float32Array.from({ length: hidden * 2 }, normal);
  const maxAbs = new Float32Array(tokenRows);
  const projections = new Float32Array(tokenRows * 2);
  // A chunk of rows at a time: never a widened copy of the whole matrix (nearest-tokens.ts).
  for (let start = 0; start < tokenRows; start += ROW_CHUNK) {
    const size = Math.min(ROW_CHUNK, tokenRows - start);
    tf.tidy(() => {
      const rows = rowSlice(matrix, start, size); // widened when packed (loadModel keepBf16)
      maxAbs.set(rows.abs().max(1).dataSync(), start);
      projections.set(tf.matMul(rows, tf.tensor2d(directions, [hidden, 2])).dataSync(), start * 2);
    });
  }
  const zero: number[] = [];
  for (let id = 0; id < tokenRows; id++) if (maxAbs[id] <= 1e-16) zero.push(id);

  // Equal rows have equal projections; only those candidates are compared element by element.
  const groups = new Map<string, number[]>();
  for (let id = 0; id < tokenRows; id++) {
    const key = `${projections[2 * id]},${projections[2 * id + 1]}`;
    groups.set(key, [...(groups.get(key) ?? []), id]);
  }
  const duplicated: number[][] = [];
  for (const candidates of groups.values()) {
    if (candidates.length < 2) continue;
    const values = tf.tidy(() => gatherRows(matrix, tf.tensor1d(candidates, "int32")).arraySync() as number[][]);
    const byContent = new Map<string, number[]>();
    candidates.forEach((id, i) => byContent.set(values[i].join(","), [...(byContent.get(values[i].join(",")) ?? []), id]));
    for (const ids of byContent.values()) if (ids.length > 1) duplicated.push(ids);
  }
  return { zero, duplicated: duplicated.sort((a, b) => a[0] - b[0]) };
}
