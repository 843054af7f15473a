import * as tf from "@tensorflow/tfjs-core";
import { forEachRowChunk, type RowReader } from "../models/model-rows";

/**
 * Rows among [0, tokenRows) of the matrix `read` reads (e.g. model-rows.ts matrixRowReader) that
 * look untrained: all-zero (every |x| ≤ 1e-16, Unsloth's `fix_untrained_tokens` test) and
 * duplicated (bit-identical to another row — e.g. several new tokens all initialized with the same
 * mean). Scans a chunk of rows at a time.
 */
export function untrainedRows(read: RowReader, tokenRows: number, hidden: number): { zero: number[]; duplicated: number[][] } {
  const zero: number[] = [];
  // Rows by a hash of their bits; only rows with equal hashes are compared element by element.
  // (Not by projections through a matrix product: a BLAS may sum a row differently by where it lies.)
  const groups = new Map<number, number[]>();
  forEachRowChunk(read, tokenRows, (rows, start) => {
    const values = rows.dataSync() as Float32Array;
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let r = 0; r < rows.shape[0]; r++) {
      // FNV-1a over the row's 32-bit words, each step folding the high half down: a multiplication only
      // carries bits upward, and widened BF16 values have all their bits in the high half.
      let hash = 2166136261;
      let maxAbs = 0;
      for (let j = r * hidden; j < (r + 1) * hidden; j++) {
        hash = Math.imul(hash ^ bits[j], 16777619);
        hash ^= hash >>> 16;
        maxAbs = Math.max(maxAbs, Math.abs(values[j]));
      }
      if (maxAbs <= 1e-16) zero.push(start + r);
      const group = groups.get(hash);
      if (group) group.push(start + r);
      else groups.set(hash, [start + r]);
    }
  });

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
