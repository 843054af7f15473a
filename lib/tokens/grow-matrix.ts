import * as tf from "@tensorflow/tfjs-core";
import { isPacked, packRows } from "../models/packed-weights";
import { initRow, meanInit, type InitContext, type InitStrategy, type NewToken } from "./init-strategies";

/**
 * The matrix of a grown vocabulary: base rows [0, firstNewId), one initialized row per new token
 * (ids firstNewId, firstNewId+1, ... — they may fall into old padding rows, which they replace),
 * the remaining old padding rows unchanged, then new padding rows up to `rows`. New padding rows are
 * never tokens; they get the mean row so that, as output rows, they take no more mass than an
 * average token (a zero row would — Hewitt). Returns a new tensor owned by the caller.
 *
 * The base matrix is copied once (a concat when rows are appended, a row scatter when new tokens
 * take over padding rows), never sliced: at 151,936 × 576 each copy is 350 MB.
 */
export function growMatrix(
  context: InitContext,
  tokens: ReadonlyArray<{ token: NewToken; strategy: InitStrategy }>,
  firstNewId: number,
  rows: number,
): tf.Tensor2D {
  const [oldRows] = context.matrix.shape;
  const packed = isPacked(context.matrix);
  const hidden = packed ? context.matrix.shape[1] * 2 : context.matrix.shape[1];
  // A packed matrix (loadModel keepBf16) grows packed: its new rows are rounded to bf16, as a save would.
  const stored = (rows: tf.Tensor2D) => (packed ? packRows(rows) : rows);
  const newRows: tf.Tensor1D[] = [];
  try {
    for (const { token, strategy } of tokens) newRows.push(initRow(strategy, context, token));
  } catch (error) {
    tf.dispose(newRows);
    throw error;
  }
  return tf.tidy(() => {
    const afterNew = firstNewId + newRows.length;
    // New tokens that take over old padding rows are scattered in; the others are appended.
    const inside = Math.max(0, Math.min(afterNew, oldRows) - firstNewId);
    const appended = newRows.slice(inside);
    const padding = rows - Math.max(afterNew, oldRows);
    const tail: tf.Tensor2D[] = appended.length > 0 ? [stored(tf.stack(appended) as tf.Tensor2D)] : [];
    if (padding > 0) tail.push(tf.tile(stored(meanInit(context).reshape([1, hidden])), [padding, 1]) as tf.Tensor2D);
    let grown: tf.Tensor2D = tail.length > 0 ? tf.concat([context.matrix, ...tail], 0) : context.matrix;
    if (inside > 0) {
      const ids = tf.tensor2d(Array.from({ length: inside }, (_, j) => [firstNewId + j]), [inside, 1], "int32");
      grown = tf.tensorScatterUpdate(grown, ids, stored(tf.stack(newRows.slice(0, inside)) as tf.Tensor2D));
    }
    tf.dispose(newRows);
    return grown === context.matrix ? tf.clone(grown) : grown;
  });
}
