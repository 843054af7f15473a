import * as tf from "@tensorflow/tfjs-core";
import { packedBf16Tensor, unpackBf16 } from "../backend/wasm-bf16-matmul";
import { float32ToBf16 } from "../hf/float-formats";
import type { CausalLM, WeightMap } from "./causal-lm";
import { embed, overlaidRows, type RowOverlay } from "./layers/embedding";
import { isPacked, packedBits, packRows, rowSlice } from "./packed-weights";

/**
 * Reading a model's [vocabRows, hidden] matrices (embedding, untied head) as the model computes
 * with them: the tensor in `model.weights` with `model.overlays` over it (see CausalLM.overlays).
 * Nothing here builds a vocab-sized copy except `materializedWeights` / `materializedMatrix`,
 * whose callers (saving) need one; scans over every row read ROW_CHUNK rows at a time.
 */

/** The overlay of `model`'s tensor `name`, if it has one. */
export function overlayOf(model: CausalLM, name: string): RowOverlay | undefined {
  return model.overlays.get(name);
}

/**
 * The number of rows of `model`'s matrix `name` (by default the embedding: the ids a lookup accepts),
 * past the stored tensor when added rows extend it.
 */
export function vocabRows(model: CausalLM, name = model.layout.embedding): number {
  const matrix = model.weights.get(name);
  return matrix === undefined ? 0 : overlaidRows(matrix, overlayOf(model, name));
}

/** Rows `ids` of `model`'s matrix `name`, float32 [ids, hidden]. Call inside tf.tidy. */
export function matrixRows(model: CausalLM, name: string, ids: readonly number[]): tf.Tensor2D {
  return embed(model.weights.get(name)!, tf.tensor1d(Int32Array.from(ids), "int32"), overlayOf(model, name)) as tf.Tensor2D;
}

/** Float32 rows [start, start + count) of a vocabulary-sized matrix, as a new tensor (call inside tf.tidy). */
export type RowReader = (start: number, count: number) => tf.Tensor2D;

/**
 * Rows a scan over a whole vocabulary reads at a time: all 151k rows widened and normalized at
 * once would be vocabulary-sized float32 copies (600 MB each at hidden 1024) on a heap that already
 * holds the model.
 */
export const ROW_CHUNK = 16_384;

/** Calls `body` on rows [0, count) of `read`, ROW_CHUNK rows at a time; each chunk's tensors are freed after it. */
export function forEachRowChunk(read: RowReader, count: number, body: (rows: tf.Tensor2D, start: number) => void): void {
  for (let start = 0; start < count; start += ROW_CHUNK) {
    tf.tidy(() => body(read(start, Math.min(ROW_CHUNK, count - start)), start));
  }
}

/** Rows of a plain [vocabRows, hidden] tensor (float32, or packed and widened). */
export function tensorRowReader(matrix: tf.Tensor): RowReader {
  return (start, count) => rowSlice(matrix, start, count);
}

/**
 * Rows of `model`'s matrix `name` as the model computes with them: the stored tensor (widened when
 * packed) with the overlay's rows in place, also past the stored rows.
 */
export function matrixRowReader(model: CausalLM, name: string): RowReader {
  const matrix = model.weights.get(name)!;
  const overlay = overlayOf(model, name);
  return (start, count) => {
    const stored = Math.max(0, Math.min(start + count, matrix.shape[0]!) - start);
    const positions = (overlay?.ids ?? []).flatMap((id, j) => (id >= start && id < start + count ? [j] : []));
    let rows = rowSlice(matrix, start, stored);
    if (overlay === undefined) return rows;
    if (count > stored) rows = tf.concat([rows, tf.zeros([count - stored, overlay.rows.shape[1]])], 0); // all overlaid
    if (positions.length === 0) return rows;
    const ids = tf.tensor2d(Int32Array.from(positions, (j) => overlay.ids[j] - start), [positions.length, 1], "int32");
    return tf.tensorScatterUpdate(rows, ids, tf.gather(overlay.rows, positions)) as tf.Tensor2D;
  };
}

/**
 * `model`'s weights with every overlaid matrix built whole, in the form it is stored in (packed
 * stays packed; its overlaid rows are bf16-exact, see addTokens): what a checkpoint holds. `owned`
 * are the tensors built here, which the caller frees; the other tensors are the model's.
 */
export function materializedWeights(model: CausalLM): { weights: WeightMap; owned: tf.Tensor[] } {
  const weights = new Map(model.weights);
  const owned: tf.Tensor[] = [];
  for (const name of model.overlays.keys()) {
    const whole = materializedMatrix(model, name);
    owned.push(whole);
    weights.set(name, whole);
  }
  return { weights, owned };
}

/**
 * `model`'s overlaid matrix `name` built whole, as materializedWeights builds it: a new tensor, the
 * overlay's rows written in (and appended), every other row bit-identical to the stored matrix.
 */
export function materializedMatrix(model: CausalLM, name: string): tf.Tensor {
  const matrix = model.weights.get(name)!;
  const overlay = overlayOf(model, name);
  if (overlay === undefined) return tf.clone(matrix);
  const rows = overlaidRows(matrix, overlay);
  const packed = isPacked(matrix);
  const hidden = overlay.rows.shape[1];
  const data = packed ? new Uint16Array(rows * hidden) : new Float32Array(rows * hidden);
  data.set(packed ? packedBits(matrix) : (matrix.dataSync() as Float32Array));
  const values = overlay.rows.dataSync() as Float32Array;
  const rowData = packed ? float32ToBf16(values) : values;
  overlay.ids.forEach((id, j) => data.set(rowData.subarray(j * hidden, (j + 1) * hidden), id * hidden));
  return packed ? packedBf16Tensor(data as Uint16Array, rows, hidden) : tf.tensor2d(data as Float32Array, [rows, hidden]);
}

/** Rows that join a matrix kept packed (loadModel keepBf16) rounded to bf16 as a save would round them; others as they are. Returns a new tensor. */
export function storableRows(matrix: tf.Tensor, rows: tf.Tensor2D): tf.Tensor2D {
  return isPacked(matrix) ? tf.tidy(() => unpackBf16(packRows(rows)) as tf.Tensor2D) : tf.clone(rows);
}

/** Every tensor `model` holds: its weights and its overlays' rows. */
export function modelTensors(model: CausalLM): tf.Tensor[] {
  return [...model.weights.values(), ...[...model.overlays.values()].map((overlay) => overlay.rows)];
}
