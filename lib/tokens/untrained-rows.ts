import * as tf from "@tensorflow/tfjs-core";
import { forEachRowChunk, type RowReader } from "../models/model-rows";
import { seededGaussian } from "./seeded-gaussian";

/**
 * Rows among [0, tokenRows) of the matrix `read` reads (e.g. model-rows.ts matrixRowReader) that
 * look untrained: all-zero (every |x| ≤ 1e-16, Unsloth's `fix_untrained_tokens` test) and
 * duplicated (bit-identical to another row — e.g. several new tokens all initialized with the same
 * mean). Scans a chunk of rows at a time.
 */
export function untrainedRows(read: RowReader, tokenRows: number, hidden: number): { zero: number[]; duplicated: number[][] } {
  const normal = seededGaussian(12345);
  const directions = Float32Array.from({ length: hidden * 2 }, normal);
  const maxAbs = new Float32Array(tokenRows);
  const projections = new Float32Array(tokenRows * 2);
  forEachRowChunk(read, tokenRows, (rows, start) => {
    maxAbs.set(rows.abs().max(1).dataSync(), start);
    projections.set(tf.matMul(rows, tf.tensor2d(directions, [hidden, 2])).dataSync(), start * 2);
  });
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
    const values = candidates.map((id) => tf.tidy(() => Array.from(read(id, 1).dataSync())));
    const byContent = new Map<string, number[]>();
    candidates.forEach((id, i) => byContent.set(values[i].join(","), [...(byContent.get(values[i].join(",")) ?? []), id]));
    for (const ids of byContent.values()) if (ids.length > 1) duplicated.push(ids);
  }
  return { zero, duplicated: duplicated.sort((a, b) => a[0] - b[0]) };
}
