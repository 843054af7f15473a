import * as tf from "@tensorflow/tfjs-core";
import { TokenlabError } from "../errors/tokenlab-error";
import { packedBf16Tensor } from "../backend/wasm-bf16-matmul";
import type { SafetensorsEntry } from "../hf/safetensors";
import type { WeightMap } from "./causal-lm";
import type { ModelFamily } from "./model-family";
import type { ModelConfig } from "./model-config";
import { isPacked, packedBits } from "./packed-weights";

/** A tensor as read from a checkpoint (`raw`: its stored bytes, needed to keep BF16 packed). */
type CheckpointTensor = Pick<SafetensorsEntry, "dtype" | "shape" | "data"> & { raw?: Uint8Array };

/**
 * Builds a WeightMap from checkpoint tensors: checks that every tensor the family needs is there
 * with the shape the config implies, and transposes the ones the family keeps transposed.
 * With `keepBf16`, BF16 matrices that the forward pass multiplies by (nn.Linear weights, the embedding
 * and head) stay 16-bit, packed (see packed-weights.ts); everything else is widened to float32.
 * The caller owns the returned tensors.
 */
export function weightsFromCheckpoint(
  family: ModelFamily,
  config: ModelConfig,
  tensors: ReadonlyMap<string, CheckpointTensor>,
  keepBf16 = false,
): Map<string, tf.Tensor> {
  const layout = family.layout(config);
  const packable = (name: string, spec: { hfShape: number[]; transposed: boolean }, entry: CheckpointTensor): entry is SafetensorsEntry =>
    keepBf16 && entry.dtype === "BF16" && entry.raw !== undefined && spec.hfShape.length === 2 && spec.hfShape[1] % 2 === 0 &&
    (spec.transposed || name === layout.embedding || name === layout.head);
  const byName = new Map<string, CheckpointTensor>();
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
      if (packable(name, spec, entry)) {
        const [rows, cols] = entry.shape;
        weights.set(name, packedBf16Tensor(new Uint16Array(entry.raw.buffer, entry.raw.byteOffset, rows * cols), rows, cols));
      } else {
        weights.set(name, spec.transposed ? transposeHost(entry.data, entry.shape) : tf.tensor(entry.data, entry.shape, "float32"));
      }
    }
  } catch (error) {
    for (const t of weights.values()) t.dispose();
    throw error;
  }
  return weights;
}

/**
 * Checkpoint-layout arrays for every tensor of `weights` (reads them off the device): float32, or
 * the bf16 bits of a packed tensor, already in checkpoint layout (saved bit-exact as BF16).
 */
export function weightsToCheckpoint(
  family: ModelFamily,
  config: ModelConfig,
  weights: WeightMap,
): Array<{ name: string; shape: number[]; data: Float32Array | Uint16Array }> {
  return [...family.tensorSpecs(config)].map(([name, spec]) => {
    const tensor = weights.get(name);
    if (!tensor) throw new TokenlabError(`model has no tensor ${name}`, { tensor: name });
    if (isPacked(tensor)) {
      if (tensor.shape.join(",") !== [spec.hfShape[0], spec.hfShape[1] / 2].join(",")) {
        throw new TokenlabError(`packed tensor ${name} has shape [${tensor.shape}], expected [${spec.hfShape[0]}, ${spec.hfShape[1] / 2}]`, { tensor: name });
      }
      return { name, shape: spec.hfShape, data: packedBits(tensor) };
    }
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
