import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/**
 * Identity (tf.clone) for the wasm backend that shares the input's memory, as tfjs' Reshape and the
 * cpu backend's Identity do, instead of copying it. tfjs-core clones every input an op saves for
 * its gradient; with the copying kernel a training step duplicated each frozen weight it touched —
 * 350 MB per use of a 151,936 × 576 embedding — which exhausted the 4 GB wasm heap. Sharing is
 * safe because no wasm kernel writes into its inputs; the backend frees the memory with the last
 * reference.
 */
function sharedIdentity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function registerWasmSharedIdentity(): void {
  const original = tf.getKernel(tf.Identity, "wasm");
  if (!original || (original.kernelFunc as { tokenlab?: boolean }).tokenlab) return;
  (sharedIdentity as { tokenlab?: boolean }).tokenlab = true;
  tf.unregisterKernel(tf.Identity, "wasm");
  tf.registerKernel({ ...original, kernelFunc: sharedIdentity as tf.KernelFunc });
}
