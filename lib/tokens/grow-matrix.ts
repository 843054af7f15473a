import * as tf from "@tensorflow/tfjs-core";
import { initRow, meanInit, type InitContext, type InitStrategy, type NewToken } from "./init-strategies";

/**
 * The matrix of a grown vocabulary: base rows [0, firstNewId), one initialized row per new token
 * (ids firstNewId, firstNewId+1, ... — they may fall into old padding rows, which they replace),
 * the remaining old padding rows unchanged, then new padding rows up to `rows`. New padding rows are
 * never tokens; they get the mean row so that, as output rows, they take no more mass than an
 * average token (a zero row would — Hewitt). Returns a new tensor owned by the caller.
 */
export function growMatrix(
  context: InitContext,
  tokens: ReadonlyArray<{ token: NewToken; strategy: InitStrategy }>,
  firstNewId: number,
  rows: number,
): tf.Tensor2D {
  const [oldRows, hidden] = context.matrix.shape;
  const newRows: tf.Tensor1D[] = [];
  try {
    for (const { token, strategy } of tokens) newRows.push(initRow(strategy, context, token));
  } catch (error) {
    tf.dispose(newRows);
    throw error;
  }
  return tf.tidy(() => {
    const parts: tf.Tensor2D[] = [context.matrix.slice([0, 0], [firstNewId, hidden])];
    if (newRows.length > 0) parts.push(tf.stack(newRows) as tf.Tensor2D);
    const afterNew = firstNewId + newRows.length;
    if (afterNew < oldRows) parts.push(context.matrix.slice([afterNew, 0], [oldRows - afterNew, hidden]));
    const padding = rows - Math.max(afterNew, oldRows);
    if (padding > 0) {
      const mean = meanInit(context);
      parts.push(tf.tile(mean.reshape([1, hidden]), [padding, 1]) as tf.Tensor2D);
    }
    tf.dispose(newRows);
    return tf.concat(parts, 0);
  });
}
