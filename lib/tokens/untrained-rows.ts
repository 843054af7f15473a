import * as tf from "@tensorflow/tfjs-core";
import { seededGaussian } from "./seeded-gaussian";

/**
 * Rows of `rows` (float32 [tokenRows, hidden], row i = id i, e.g. leadingMatrixRows) that look untrained: all-zero (every |x| ≤ 1e-16, Unsloth's
 * `fix_untrained_tokens` test) and duplicated (bit-identical to another row — e.g. several new
 * tokens all initialized with the same mean). Tensors are borrowed.
 */
export function untrainedRows(rows: tf.Tensor2D): { zero: number[]; duplicated: number[][] } {
  const [tokenRows, hidden] = rows.shape;
  const normal = seededGaussian(12345);
  const directions = Float32Array.from({ length: hidden * 2 }, normal);
  const [maxAbs, projections] = tf.tidy(() => [rows.abs().max(1).dataSync(), tf.matMul(rows, tf.tensor2d(directions, [hidden, 2])).dataSync()]);
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
    const values = tf.tidy(() => tf.gather(rows, tf.tensor1d(candidates, "int32")).arraySync() as number[][]);
    const byContent = new Map<string, number[]>();
    candidates.forEach((id, i) => byContent.set(values[i].join(","), [...(byContent.get(values[i].join(",")) ?? []), id]));
    for (const ids of byContent.values()) if (ids.length > 1) duplicated.push(ids);
  }
  return { zero, duplicated: duplicated.sort((a, b) => a[0] - b[0]) };
}
