import * as tf from "@tensorflow/tfjs-core";
import type { PackedSequence } from "../data/pack";
import type { CausalLM, WeightMap } from "../models/causal-lm";
import type { RowOverlays } from "../models/layers/embedding";
import type { AdamW } from "./adamw";
import { clipGradients } from "./clip-gradients";
import { crossEntropy } from "./cross-entropy";
import { mergeLossSplits, splitLoss, type LossSplit } from "./loss-split";
import { disposeSnapshot, type TrainableParameters } from "./trainable-parameters";
import { TrainingError } from "./training-error";

export interface StepOutcome {
  loss: LossSplit;
  /** L2 norm of each layer group's gradient before clipping. */
  gradNorms: Record<string, number>;
  totalGradNorm: number;
}

/**
 * One optimization step on `batch`: forward + cross-entropy, gradients of the trainable variables
 * only, clipping by global norm, AdamW update. Every tensor it creates is released before it
 * returns (numTensors stays flat).
 *
 * A non-finite loss or gradient stops before anything changes; a parameter that becomes non-finite
 * after the update is set back to its previous value. Either way a TrainingError names the step
 * and the layer group(s) concerned, and the trainable values are those of the last good step.
 */
export function trainStep(
  model: CausalLM,
  params: TrainableParameters,
  optimizers: readonly AdamW[],
  batch: readonly PackedSequence[],
  options: { step: number; clipNorm: number; newIds: ReadonlySet<number> },
): StepOutcome {
  const { inputIds, attentionMask, labels, flatLabels } = batchTensors(batch);
  let perPosition: tf.Tensor | undefined;
  let lossValue: tf.Scalar | undefined;
  let grads: Record<string, tf.Tensor> = {};
  try {
    const result = tf.variableGrads(() => {
      const { weights, overlays } = params.compose();
      const ce = crossEntropy(model.forward(weights, inputIds, attentionMask, { overlays, checkpointBlocks: true }), labels);
      perPosition = tf.keep(ce.perPosition);
      return ce.loss;
    }, params.list.map((p) => p.value));
    lossValue = result.value;
    grads = result.grads;
  } finally {
    tf.dispose([inputIds, attentionMask, labels]);
  }
  const loss = splitLoss(perPosition!.dataSync(), flatLabels, options.newIds);
  const lossNumber = lossValue.dataSync()[0];
  tf.dispose([perPosition!, lossValue]);

  const groups: Record<string, string[]> = {};
  for (const p of params.list) (groups[p.group] ??= []).push(p.value.name);
  const clipped = clipGradients(grads, options.clipNorm > 0 ? options.clipNorm : Infinity, groups);
  tf.dispose(Object.values(grads));
  if (!Number.isFinite(lossNumber) || !Number.isFinite(clipped.totalNorm)) {
    tf.dispose(Object.values(clipped.grads));
    const badGroups = Object.keys(groups).filter((g) => !Number.isFinite(clipped.groupNorms[g]));
    const what = Number.isFinite(lossNumber) ? "the gradient" : `the loss (${lossNumber})`;
    throw new TrainingError(
      `training stopped: ${what} became non-finite at step ${options.step}` +
        (badGroups.length > 0 ? ` in group(s) ${badGroups.join(", ")}` : "") +
        "; weights are those after the previous step (try a lower learning rate)",
      { step: options.step, groups: badGroups.length > 0 ? badGroups : Object.keys(groups), loss: lossNumber },
    );
  }

  const previous = params.snapshot();
  try {
    optimizers.forEach((optimizer) => optimizer.step(clipped.grads));
    const badGroups = nonFiniteGroups(params);
    if (badGroups.length > 0) {
      params.restore(previous);
      throw new TrainingError(
        `training stopped: parameters of group(s) ${badGroups.join(", ")} became non-finite at step ${options.step}; ` +
          "weights are those after the previous step (try a lower learning rate)",
        { step: options.step, groups: badGroups },
      );
    }
  } finally {
    disposeSnapshot(previous);
    tf.dispose(Object.values(clipped.grads));
  }
  return { loss, gradNorms: clipped.groupNorms, totalGradNorm: clipped.totalNorm };
}

/** Loss split over `rows` with the given weights and overlays (no gradients), in batches of `batchSize`. */
export function evaluateLoss(
  model: CausalLM,
  weights: () => { weights: WeightMap; overlays?: RowOverlays },
  rows: readonly PackedSequence[],
  batchSize: number,
  newIds: ReadonlySet<number>,
): LossSplit {
  const splits: LossSplit[] = [];
  for (let i = 0; i < rows.length; i += batchSize) {
    const { inputIds, attentionMask, labels, flatLabels } = batchTensors(rows.slice(i, i + batchSize));
    const perPosition = tf.tidy(() => {
      const current = weights();
      return crossEntropy(model.forward(current.weights, inputIds, attentionMask, { overlays: current.overlays }), labels).perPosition;
    });
    splits.push(splitLoss(perPosition.dataSync(), flatLabels, newIds));
    tf.dispose([perPosition, inputIds, attentionMask, labels]);
  }
  return mergeLossSplits(splits);
}

/** Input, mask and label tensors of a batch (caller disposes), plus the labels as a flat array. */
export function batchTensors(batch: readonly PackedSequence[]): {
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  labels: tf.Tensor2D;
  flatLabels: number[];
} {
  const seq = batch[0].inputIds.length;
  const shape: [number, number] = [batch.length, seq];
  const flatLabels = batch.flatMap((row) => row.labels);
  return {
    inputIds: tf.tensor2d(batch.flatMap((row) => row.inputIds), shape, "int32"),
    attentionMask: tf.tensor2d(batch.flatMap((row) => row.attentionMask), shape, "int32"),
    labels: tf.tensor2d(flatLabels, shape, "int32"),
    flatLabels,
  };
}

/** Groups with a parameter that is NaN or infinite (one device read for all parameters). */
function nonFiniteGroups(params: TrainableParameters): string[] {
  const sums = tf.tidy(() => tf.stack(params.list.map((p) => tf.sum(p.value))));
  const values = sums.dataSync();
  sums.dispose();
  return [...new Set(params.list.filter((_, i) => !Number.isFinite(values[i])).map((p) => p.group))];
}
