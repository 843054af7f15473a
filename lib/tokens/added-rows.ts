import * as tf from "@tensorflow/tfjs-core";
import type { RowOverlay } from "../models/layers/embedding";
import { storableRows } from "../models/model-rows";
import { initRow, meanInit, type InitContext, type InitStrategy, type NewToken } from "./init-strategies";

/**
 * The rows a grown vocabulary adds to a matrix, as an overlay (the matrix itself is neither copied
 * nor changed): one initialized row per new token (ids firstNewId, firstNewId+1, ... — they may fall
 * into old padding rows, which they replace), then new padding rows from the end of the old rows
 * (`oldRows`) up to `rows`. Old padding rows not taken over stay as they are. New padding rows are
 * never tokens; they get the mean row so that, as output rows, they take no more mass than an
 * average token (a zero row would — Hewitt). Rows joining a matrix kept 16-bit (loadModel keepBf16)
 * are rounded to bf16, as a save would round them. The caller owns the overlay's rows.
 */
export function addedRows(
  context: InitContext,
  tokens: ReadonlyArray<{ token: NewToken; strategy: InitStrategy }>,
  firstNewId: number,
  oldRows: number,
  rows: number,
): RowOverlay {
  const newRows: tf.Tensor1D[] = [];
  try {
    for (const { token, strategy } of tokens) newRows.push(initRow(strategy, context, token));
    const paddingFrom = Math.max(firstNewId + tokens.length, oldRows);
    const padding = Math.max(0, rows - paddingFrom);
    if (padding > 0) newRows.push(meanInit(context));
    const ids = [...tokens.map((_, j) => firstNewId + j), ...Array.from({ length: padding }, (_, j) => paddingFrom + j)];
    const stacked = tf.tidy(() => {
      const all = tf.stack(newRows) as tf.Tensor2D;
      const withPadding = padding > 1 ? tf.concat([all, tf.tile(all.slice([tokens.length, 0], [1, -1]), [padding - 1, 1])], 0) : all;
      return storableRows(context.matrix, withPadding as tf.Tensor2D);
    });
    return { ids, rows: stacked };
  } finally {
    tf.dispose(newRows);
  }
}
