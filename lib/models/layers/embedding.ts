import * as tf from "@tensorflow/tfjs-core";

/**
 * Rows `ids` of a [vocabRows, hidden] matrix replaced by `rows` [k, hidden] without building the
 * replaced matrix (PEFT TrainableTokens): lookups and logits read the frozen matrix for every other
 * id. Training new rows differentiates through `rows` only, so nothing of size vocabRows × hidden is
 * copied, and gradients and optimizer state stay O(k·hidden).
 */
export interface RowOverlay {
  /** Distinct ids, sorted ascending, all < vocabRows. */
  ids: readonly number[];
  rows: tf.Tensor2D;
}

/** Overlays by Hugging Face tensor name (the embedding, an untied head). */
export type RowOverlays = ReadonlyMap<string, RowOverlay>;

/** Embedding lookup: rows of `matrix` [vocabRows, hidden] for `inputIds` [B, T] → [B, T, hidden]. */
export function embed(matrix: tf.Tensor, inputIds: tf.Tensor, overlay?: RowOverlay): tf.Tensor {
  const looked = tf.gather(matrix, inputIds);
  if (!overlay) return looked;
  const slot = new Map(overlay.ids.map((id, j) => [id, j]));
  const ids = inputIds.dataSync();
  if (!ids.some((id) => slot.has(id))) return looked;
  const local = Int32Array.from(ids, (id) => slot.get(id) ?? 0);
  const isNew = Float32Array.from(ids, (id) => (slot.has(id) ? 1 : 0));
  const newMask = tf.tensor(isNew, [...inputIds.shape, 1]); // [B, T, 1]
  const fromRows = tf.gather(overlay.rows, tf.tensor(local, inputIds.shape, "int32")); // [B, T, hidden]
  return tf.add(tf.mul(looked, tf.sub(1, newMask)), tf.mul(fromRows, newMask));
}

/**
 * Logits h [B, T, hidden] · headᵀ with head [vocabRows, hidden] → [B, T, vocabRows]. The product
 * is a transposed-B matMul, so the head is read in place (see wasm-batch-matmul.ts), never copied.
 */
export function outputLogits(h: tf.Tensor, head: tf.Tensor, overlay?: RowOverlay): tf.Tensor3D {
  const [b, t, hidden] = h.shape;
  const x = tf.reshape(h, [-1, hidden]); // [B·T, hidden]
  const logits = tf.matMul(x, head, false, true); // [B·T, vocabRows]
  const merged = overlay ? replaceColumns(logits, tf.matMul(x, overlay.rows, false, true), overlay.ids) : logits;
  return tf.reshape(merged, [b, t, head.shape[0]]);
}

/**
 * z [N, V] with the columns `ids` (sorted) replaced by the columns of zNew [N, k]: one scatter into
 * a copy of z (slicing z around the columns would keep a second [N, V] alive until the step ends).
 * The gradient passes dz to z everywhere but at `ids` (those columns of z were discarded) and dz's
 * `ids` columns to zNew.
 */
function replaceColumns(z: tf.Tensor, zNew: tf.Tensor, ids: readonly number[]): tf.Tensor {
  const [positions, vocab] = z.shape as [number, number];
  const flat = new Int32Array(positions * ids.length); // row-major like zNew: (i, j) → i·V + ids[j]
  for (let i = 0; i < positions; i++) ids.forEach((id, j) => (flat[i * ids.length + j] = i * vocab + id));
  const keep = new Float32Array(vocab).fill(1);
  for (const id of ids) keep[id] = 0;
  const replace = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [base, fresh] = args as [tf.Tensor, tf.Tensor];
    const updated = tf.tensorScatterUpdate(tf.reshape(base, [-1]), tf.tensor2d(flat, [flat.length, 1], "int32"), tf.reshape(fresh, [-1]));
    return {
      value: tf.reshape(updated, [positions, vocab]),
      // Index tensors made here: tensors of the forward scope are gone when the gradient runs.
      gradFunc: (dy: tf.Tensor) => [tf.mul(dy, tf.tensor1d(keep)), tf.gather(dy, tf.tensor1d(Int32Array.from(ids), "int32"), 1)],
    };
  });
  return replace(z, zNew);
}
