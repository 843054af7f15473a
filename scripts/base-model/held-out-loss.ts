import * as tf from "@tensorflow/tfjs-core";
import type { CausalLM, WeightMap } from "../../lib/models/causal-lm";
import { crossEntropy } from "../../lib/train/cross-entropy";
import { SEQUENCE_LENGTH } from "./base-model-spec";
import { consecutiveWindows, type WindowBatch } from "./token-windows";

/** The held-out stream as the run and the model card evaluate it: every full window, 16 per batch. */
export function heldOutWindows(heldOutStream: Int32Array): WindowBatch[] {
  return consecutiveWindows(heldOutStream, SEQUENCE_LENGTH, 16);
}

/** Mean next-token cross-entropy (nats) of `model` with `weights` over every position of `batches`. */
export function heldOutLoss(model: CausalLM, weights: WeightMap, batches: readonly WindowBatch[]): number {
  let nats = 0;
  let positions = 0;
  for (const batch of batches) {
    const total = tf.tidy(() => {
      const shape: [number, number] = [batch.batchSize, batch.sequenceLength];
      const logits = model.forward(weights, tf.tensor2d(batch.inputs, shape, "int32"));
      return tf.sum(crossEntropy(logits, tf.tensor2d(batch.targets, shape, "int32")).perPosition);
    });
    nats += total.dataSync()[0];
    total.dispose();
    positions += batch.inputs.length;
  }
  return nats / positions;
}
