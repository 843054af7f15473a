import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/**
 * Slice for the wasm backend that copies a contiguous slice (leading rows, e.g. a chunk of a
 * vocabulary-sized matrix) within tfjs' heap. tfjs-backend-wasm's kernel first reads the whole input
 * out of the heap (readSync copies it), then copies the slice: reading 16k rows of a 151,936 × 576
 * embedding moved the whole 350 MB matrix, 0.25 s per chunk. Other slices go to tfjs' kernel.
 */
type SliceArgs = Parameters<tf.KernelFunc>[0];

function heapSlice(original: tf.KernelFunc) {
  return (args: SliceArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    if (x.dtype === "string" || !tf.slice_util.isSliceContinous(x.shape, begin_, size_)) return original(args);
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(size_, x.dtype);
    const bytes = tf.util.sizeFromShape(size_) * tf.util.bytesPerElement(x.dtype);
    if (bytes === 0) return out;
    const from = backend.dataIdMap.get(x.dataId)!.memoryOffset + tf.slice_util.computeFlatOffset(begin_, tf.util.computeStrides(x.shape)) * tf.util.bytesPerElement(x.dtype);
    const heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
    heap.copyWithin(backend.dataIdMap.get(out.dataId)!.memoryOffset, from, from + bytes);
    return out;
  };
}

export function registerWasmHeapSlice(): void {
  const original = tf.getKernel(tf.Slice, "wasm");
  if (!original || (original.kernelFunc as { tokenlab?: boolean }).tokenlab) return;
  const kernelFunc = heapSlice(original.kernelFunc) as tf.KernelFunc & { tokenlab?: boolean };
  kernelFunc.tokenlab = true;
  tf.unregisterKernel(tf.Slice, "wasm");
  tf.registerKernel({ ...original, kernelFunc });
}
