import * as tf from "@tensorflow/tfjs-core";

/**
 * Waits until `tensor` is computed without reading it out: PyTorch's side of the benchmark never
 * copies its logits off either (for a 151k vocabulary that copy alone is 156 MB per 256 tokens).
 * One element is read, which makes an asynchronous backend finish; wasm and cpu are done already.
 */
export function waitForTensor(tensor: tf.Tensor): void {
  tf.tidy(() => tf.slice(tf.reshape(tensor, [-1]), 0, 1).dataSync());
}
