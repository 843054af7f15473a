import * as tf from "@tensorflow/tfjs-core";
import { packedBf16Tensor, unpackBf16 } from "../backend/wasm-bf16-matmul";
import { float32ToBf16 } from "../hf/float-formats";
import type { ParameterLayout } from "./causal-lm";

/**
 * Frozen BF16 weights kept 16-bit (loadModel keepBf16: forced, or "auto" for a large BF16 checkpoint):
 * an int32 tensor [rows, cols / 2] holding two bf16 values per element (see backend/wasm-bf16-matmul.ts). Two kinds:
 * the embedding / head, [vocabRows, hidden] like their float32 form; and nn.Linear weights, packed
 * in the checkpoint's [out, in] layout where the float32 form is the transpose [in, out].
 * Every other tensor of a model is float32, so the dtype tells them apart.
 */
export function isPacked(tensor: tf.Tensor): boolean {
  return tensor.dtype === "int32";
}

/** How many weights `tensor` holds: two bf16 values in each element of a packed one. */
export function weightCount(tensor: tf.Tensor): number {
  return isPacked(tensor) ? 2 * tensor.size : tensor.size;
}

/** Whether `name` is a matrix kept [vocabRows, hidden] (embedding, head) rather than an nn.Linear weight. */
function isVocabMatrix(layout: ParameterLayout, name: string): boolean {
  return name === layout.embedding || name === layout.head;
}

/**
 * `tensor` in the float32 layout the model computes with (a packed weight widened, exactly; a float32
 * one returned as is). For a weight that starts training: packed weights take no gradient.
 * The caller owns a widened result (it is a new tensor only when `tensor` is packed).
 */
export function unpackedWeight(layout: ParameterLayout, name: string, tensor: tf.Tensor): tf.Tensor {
  if (!isPacked(tensor)) return tensor;
  return tf.tidy(() => (isVocabMatrix(layout, name) ? unpackBf16(tensor) : tf.transpose(unpackBf16(tensor))));
}

/** Rows `ids` of a [vocabRows, hidden] matrix, float32 whether the matrix is packed or not. */
export function gatherRows(matrix: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  return isPacked(matrix) ? unpackBf16(tf.gather(matrix, ids)) : tf.gather(matrix, ids);
}

/** Rows [start, start + count) of a [vocabRows, hidden] matrix in float32, whether the matrix is packed or not. */
export function rowSlice(matrix: tf.Tensor, start: number, count: number): tf.Tensor2D {
  const rows = tf.slice(matrix, [start, 0], [count, -1]);
  return (isPacked(rows) ? unpackBf16(rows) : rows) as tf.Tensor2D;
}

/** float32 rows [k, hidden] rounded to bf16 (nearest even) and packed [k, hidden / 2]: rows joining a packed matrix. */
export function packRows(rows: tf.Tensor2D): tf.Tensor2D {
  const [k, hidden] = rows.shape;
  return packedBf16Tensor(float32ToBf16(rows.dataSync() as Float32Array), k, hidden);
}

/** The bf16 bit patterns of a packed tensor, row-major as in its checkpoint (a copy off the device). */
export function packedBits(tensor: tf.Tensor): Uint16Array {
  const words = (tensor.dataSync() as Int32Array).slice(); // slice: a memcpy, so writes never reach the tensor
  return new Uint16Array(words.buffer, words.byteOffset, words.length * 2);
}
