import * as tf from "@tensorflow/tfjs-core";
import { seededRandom } from "../../lib/random/seeded-random";
import type { CausalLM, WeightMap } from "../../lib/models/causal-lm";
import { AdamW } from "../../lib/train/adamw";
import { clipGradients } from "../../lib/train/clip-gradients";
import { crossEntropy } from "../../lib/train/cross-entropy";
import { warmupCosineSchedule } from "../../lib/train/schedules";
import { TrainableParameters } from "../../lib/train/trainable-parameters";
import type { PretrainingOptions } from "./base-model-spec";
import { heldOutLoss } from "./held-out-loss";
import { randomWindows, type WindowBatch } from "./token-windows";

/** One entry of the run's history (the fields Hugging Face's trainer_state.json log_history uses). */
export type LogEntry =
  | { step: number; loss: number; learning_rate: number; grad_norm: number; seconds_per_step: number }
  | { step: number; eval_loss: number; eval_perplexity: number };

export const ADAM_BETAS = { beta1: 0.9, beta2: 0.95 }; // β2 0.95 as in GPT-style pretraining: steadier at high rates

export interface PretrainHooks {
  log(entry: LogEntry): void;
  /** Called after every evaluation with the current weights (valid only during the call). */
  checkpoint(weights: WeightMap, step: number): Promise<void>;
}

/**
 * Trains every tensor of `model` on random windows of `trainStream` (next-token loss), with AdamW,
 * linear warmup + cosine decay and global gradient-norm clipping; evaluates on `heldOut` every
 * `evalEvery` steps and at the end, handing the weights to `hooks.checkpoint` each time (the last
 * call has the final weights). `model`'s own tensors are left untouched; the training variables
 * are freed on return. tf.memory().numTensors stays flat across steps.
 */
export async function pretrain(
  model: CausalLM,
  trainStream: Int32Array,
  heldOut: readonly WindowBatch[],
  options: PretrainingOptions,
  sequenceLength: number,
  hooks: PretrainHooks,
): Promise<void> {
  const parameters = new TrainableParameters(model);
  parameters.add([{ name: "all", kind: "tensors", tensors: [...model.weights.keys()] }]);
  // nanoGPT's rule: matrices (embedding included) decay, vectors (norm gains) do not.
  const optimizer = new AdamW(
    [
      { name: "matrices", params: parameters.list.filter((p) => p.decay).map((p) => p.value), learningRate: options.learningRate, weightDecay: options.weightDecay },
      { name: "vectors", params: parameters.list.filter((p) => !p.decay).map((p) => p.value), learningRate: options.learningRate, weightDecay: 0 },
    ],
    ADAM_BETAS,
  );
  const schedule = warmupCosineSchedule({ warmupSteps: options.warmupSteps, totalSteps: options.steps, minFactor: options.minLrFactor });
  const random = seededRandom(options.seed);
  const variables = parameters.list.map((p) => p.value);
  const logEvery = 10;
  let lossSum = 0;
  let normSum = 0;
  let intervalStart = Date.now();

  try {
    for (let step = 0; step < options.steps; step++) {
      const learningRate = options.learningRate * schedule(step);
      optimizer.setLearningRate("matrices", learningRate);
      optimizer.setLearningRate("vectors", learningRate);
      const batch = randomWindows(trainStream, options.batchSize, sequenceLength, random);
      const shape: [number, number] = [batch.batchSize, sequenceLength];
      const inputs = tf.tensor2d(batch.inputs, shape, "int32");
      const targets = tf.tensor2d(batch.targets, shape, "int32");
      const { value: loss, grads } = tf.variableGrads(
        () => tf.tidy(() => crossEntropy(model.forward(parameters.compose().weights, inputs), targets).loss),
        variables,
      );
      const clipped = clipGradients(grads, options.clipNorm);
      optimizer.step(clipped.grads);
      lossSum += loss.dataSync()[0];
      normSum += clipped.totalNorm;
      tf.dispose([inputs, targets, loss, ...Object.values(grads), ...Object.values(clipped.grads)]);

      const done = step + 1;
      if (done % logEvery === 0 || done === options.steps) {
        const count = done % logEvery === 0 ? logEvery : done % logEvery;
        hooks.log({
          step: done,
          loss: lossSum / count,
          learning_rate: learningRate,
          grad_norm: normSum / count,
          seconds_per_step: (Date.now() - intervalStart) / 1000 / count,
        });
        lossSum = 0;
        normSum = 0;
        intervalStart = Date.now();
      }
      if (done % options.evalEvery === 0 || done === options.steps) {
        const weights = parameters.compose().weights; // whole tensors: the variables themselves, nothing to dispose
        const evalLoss = heldOutLoss(model, weights, heldOut);
        hooks.log({ step: done, eval_loss: evalLoss, eval_perplexity: Math.exp(evalLoss) });
        await hooks.checkpoint(weights, done);
        intervalStart = Date.now();
      }
    }
  } finally {
    optimizer.dispose();
    parameters.dispose();
  }
}
