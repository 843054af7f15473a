import * as tf from "@tensorflow/tfjs-core";
import { TokenlabError } from "../errors/tokenlab-error";
import type { SafetensorsEntry } from "../hf/safetensors";
import type { WeightMap } from "./causal-lm";
import type { ModelFamily } from "./model-family";
import type { ModelConfig } from "./model-config";

/**
 * Builds a WeightMap from checkpoint tensors: checks that every tensor the family needs is there
 * with the shape the config implies, and transposes the ones the family keeps transposed.
 * The caller owns the returned tensors.
 */
export function weightsFromCheckpoint(
  family: ModelFamily,
  config: ModelConfig,
  tensors: ReadonlyMap<string, SafetensorsEntry>,
): Map<string, tf.Tensor> {
  const byName = new Map<string, SafetensorsEntry>();
  for (const [name, entry] of tensors) {
    const normalized = family.normalizeName(name);
    if (normalized !== null) byName.set(normalized, entry);
  }
  const specs = family.tensorSpecs(config);
  if (config.tieWordEmbeddings) byName.delete("lm_head.weight"); // some tied checkpoints store a copy
  for (const name of byName.keys()) {
    if (!specs.has(name)) {
      throw new TokenlabError(`unexpected tensor ${name} for ${config.architecture} (does config.json match the weights?)`, {
        tensor: name,
        architecture: config.architecture,
      });
    }
  }
  const weights = new Map<string, tf.Tensor>();
  try {
    for (const [name, spec] of specs) {
      const entry = byName.get(name);
      if (!entry) throw new TokenlabError(`missing tensor ${name} for ${config.architecture}`, { tensor: name, architecture: config.architecture });
      if (entry.shape.join(",") !== spec.hfShape.join(",")) {
        throw new TokenlabError(`tensor ${name} has shape [${entry.shape}] but config.json implies [${spec.hfShape}]`, {
          tensor: name,
          shape: entry.shape,
          expected: spec.hfShape,
        });
      }
      weights.set(name, spec.transposed ? transposeHost(entry.data, entry.shape) : tf.tensor(entry.data, entry.shape, "float32"));
    }
  } catch (error) {
    for (const t of weights.values()) t.dispose();
    throw error;
  }
  return weights;
}

/** Checkpoint-layout float32 arrays for every tensor of `weights` (reads them off the device). */
export function weightsToCheckpoint(
  family: ModelFamily,
  config: ModelConfig,
  weights: WeightMap,
): Array<{ name: string; shape: number[]; data: Float32Array }> {
  return [...family.tensorSpecs(config)].map(([name, spec]) => {
    const tensor = weights.get(name);
    if (!tensor) throw new TokenlabError(`model has no tensor ${name}`, { tensor: name });
    const expected = spec.transposed ? [...spec.hfShape].reverse() : spec.hfShape;
    if (tensor.shape.join(",") !== expected.join(",")) {
      throw new TokenlabError(`tensor ${name} has shape [${tensor.shape}], expected [${expected}]`, { tensor: name });
    }
    // Not tf.tidy(() => ….dataSync()): tidy would scan the returned array element by element.
    const view = spec.transposed ? tf.transpose(tensor) : tensor;
    const data = Float32Array.from(view.dataSync() as Float32Array); // a copy: some backends return their own buffer
    if (view !== tensor) view.dispose();
    return { name, shape: spec.hfShape, data };
  });
}

function transposeHost(data: Float32Array, shape: number[]): tf.Tensor {
  const [rows, cols] = shape;
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return tf.tensor2d(out, [cols, rows]);
}
