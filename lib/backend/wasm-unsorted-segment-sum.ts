import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/**
 * UnsortedSegmentSum for the wasm backend, which does not ship one. tfjs needs it for the gradient
 * of `gather` (embedding lookup), so without it no model with an embedding can train on wasm.
 * out[segmentIds[i], :] += x[i, :]; ids outside [0, numSegments) are dropped, as TensorFlow does.
 */
function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as { numSegments: number };
  if (x.dtype !== "float32" && x.dtype !== "int32") {
    throw new Error(`UnsortedSegmentSum (wasm): unsupported dtype ${x.dtype}`);
  }
  const ids = backend.readSync(segmentIds.dataId) as Int32Array | Float32Array;
  const values = backend.readSync(x.dataId) as Float32Array | Int32Array;
  // Each segment id picks a whole slice of x of this many elements.
  const sliceSize = ids.length === 0 ? 0 : values.length / ids.length;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const target = backend.typedArrayFromHeap(out);
  target.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i];
    if (segment < 0 || segment >= numSegments) continue;
    const from = i * sliceSize;
    const to = segment * sliceSize;
    for (let j = 0; j < sliceSize; j++) target[to + j] += values[from + j];
  }
  return out;
}

export function registerWasmTrainingKernels(): void {
  if (tf.getKernel(tf.UnsortedSegmentSum, "wasm") !== undefined) return;
  tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName: "wasm", kernelFunc: unsortedSegmentSum as tf.KernelFunc });
}
