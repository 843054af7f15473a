import * as tf from "@tensorflow/tfjs-core";
import { matMulBf16, matMulBf16NN } from "../../backend/wasm-bf16-matmul";
import { gatherRows, isPacked } from "../packed-weights";

/**
 * Rows `ids` of a [vocabRows, hidden] matrix replaced by `rows` [k, hidden] without building the
 * replaced matrix (PEFT TrainableTokens): lookups and logits read the frozen matrix for every other
 * id. Training new rows differentiates through `rows` only, so nothing of size vocabRows × hidden is
 * copied, and gradients and optimizer state stay O(k·hidden). Ids may also go past the matrix's
 * rows (tokens added to a model whose matrix is shared with its base): the overlaid matrix then has
 * rows up to the highest id, and every id from the matrix's rows on must be overlaid.
 */
export interface RowOverlay {
  /** Distinct ids, sorted ascending; those ≥ the matrix's rows are consecutive from there. */
  ids: readonly number[];
  rows: tf.Tensor2D;
}

/** Overlays by Hugging Face tensor name (the embedding, an untied head). */
export type RowOverlays = ReadonlyMap<string, RowOverlay>;

/** Rows of `matrix` with `overlay` over it: past the matrix when the overlay extends it. */
export function overlaidRows(matrix: tf.Tensor, overlay: RowOverlay | undefined): number {
  const rows = matrix.shape[0]!;
  return overlay && overlay.ids.length > 0 ? Math.max(rows, overlay.ids[overlay.ids.length - 1] + 1) : rows;
}

/**
 * `over` on top of `under` (both over the same matrix): the union of their ids, `over`'s rows where
 * both have one. Differentiable in both row tensors; the result's rows are a new tensor (call in tf.tidy).
 */
export function mergeOverlays(under: RowOverlay, over: RowOverlay): RowOverlay {
  const overSlot = new Map(over.ids.map((id, j) => [id, j]));
  if (under.ids.every((id) => overSlot.has(id))) return over;
  const ids = [...new Set([...under.ids, ...over.ids])].sort((a, b) => a - b);
  const underSlot = new Map(under.ids.map((id, j) => [id, j]));
  // Row j of concat([under.rows, over.rows]) for each id.
  const source = Int32Array.from(ids, (id) => (overSlot.has(id) ? under.ids.length + overSlot.get(id)! : underSlot.get(id)!));
  const rows = tf.gather(tf.concat([under.rows, over.rows], 0), tf.tensor1d(source, "int32")) as tf.Tensor2D;
  return { ids, rows };
}

/** Embedding lookup: rows of `matrix` [vocabRows, hidden] for `inputIds` [B, T] → [B, T, hidden] (packed rows widened). */
export function embed(matrix: tf.Tensor, inputIds: tf.Tensor, overlay?: RowOverlay): tf.Tensor {
  if (!overlay) return gatherRows(matrix, inputIds);
  const slot = new Map(overlay.ids.map((id, j) => [id, j]));
  const ids = inputIds.dataSync();
  if (!ids.some((id) => slot.has(id))) return gatherRows(matrix, inputIds);
  const matrixRows = matrix.shape[0]!;
  // Ids past the matrix are all overlaid; the matrix lookup reads row 0 for them instead.
  const inMatrix = ids.some((id) => id >= matrixRows) ? tf.tensor(Int32Array.from(ids, (id) => (id < matrixRows ? id : 0)), inputIds.shape, "int32") : inputIds;
  const looked = gatherRows(matrix, inMatrix);
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
  const logits = overlay ? overlayLogits(x, head, overlay) : timesHeadT(x, head); // [B·T, vocabRows]
  return tf.reshape(logits, [b, t, overlaidRows(head, overlay)]);
}

/**
 * x [N, hidden] · (head with rows `ids` replaced by overlay.rows)ᵀ → [N, V], differentiable in x
 * and overlay.rows; the head is frozen (a matrix that trains whole has no overlay). V is past the
 * head's rows when the overlay extends it. One op with its own gradient so that only the result
 * outlives it: x·headᵀ is scattered into and released at once instead of being held, with the
 * [N, V] gradients, until the training step ends.
 */
function overlayLogits(x: tf.Tensor, head: tf.Tensor, overlay: RowOverlay): tf.Tensor {
  const { ids } = overlay;
  const positions = x.shape[0]!;
  const headRows = head.shape[0]!;
  const vocab = overlaidRows(head, overlay);
  const flat = new Int32Array(positions * ids.length); // row-major like x·rowsᵀ: (i, j) → i·V + ids[j]
  for (let i = 0; i < positions; i++) ids.forEach((id, j) => (flat[i * ids.length + j] = i * vocab + id));
  const keep = new Float32Array(headRows).fill(1); // 0 at the replaced columns: their head rows take no gradient
  for (const id of ids) if (id < headRows) keep[id] = 0;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, rows, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([input, rows]);
    const value = tf.tidy(() => {
      let fromHead = timesHeadT(input, head); // [N, headRows]
      if (vocab > headRows) fromHead = tf.concat([fromHead, tf.zeros([positions, vocab - headRows])], 1); // filled by the scatter
      const fromRows = tf.reshape(tf.matMul(input, rows, false, true), [-1]);
      return tf.reshape(tf.tensorScatterUpdate(tf.reshape(fromHead, [-1]), tf.tensor2d(flat, [flat.length, 1], "int32"), fromRows), [positions, vocab]);
    });
    return {
      value,
      // Index tensors are made here: tensors of the forward scope are gone when the gradient runs.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedRows] = saved;
        const dyRows = tf.gather(dy, tf.tensor1d(Int32Array.from(ids), "int32"), 1); // [N, k]
        const dyHead = vocab > headRows ? tf.slice(dy, [0, 0], [-1, headRows]) : dy;
        const masked = tf.mul(dyHead, tf.tensor1d(keep));
        const dx = tf.add(isPacked(head) ? matMulBf16NN(masked, head) : tf.matMul(masked, head), tf.matMul(dyRows, savedRows));
        return [dx, tf.matMul(dyRows, savedInput, true, false)];
      },
    };
  });
  return op(x, overlay.rows);
}

/** x [N, hidden] · headᵀ, the head float32 or packed, read in place either way. */
function timesHeadT(x: tf.Tensor, head: tf.Tensor): tf.Tensor {
  return isPacked(head) ? matMulBf16(x, head) : tf.matMul(x, head, false, true);
}
