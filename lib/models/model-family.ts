import type * as tf from "@tensorflow/tfjs-core";
import type { ParameterLayout, WeightMap } from "./causal-lm";
import type { RowOverlays } from "./layers/embedding";
import type { ModelConfig } from "./model-config";

/** Keys and values computed so far, one entry per layer, each [B, nkv, S, hd]. Owned by the caller. */
export type KvCache = Array<{ key: tf.Tensor; value: tf.Tensor }>;

/** How one Hugging Face tensor is kept in a WeightMap. */
export interface TensorSpec {
  /** Shape in the checkpoint. */
  hfShape: number[];
  /** Stored as the transpose of the checkpoint's 2-D matrix ([in, out] for nn.Linear weights). */
  transposed: boolean;
}

export interface RunOptions {
  attentionMask?: tf.Tensor2D;
  /** Keys/values of earlier positions; the new ids continue after them. */
  cache?: KvCache;
  /** Rows of the embedding / head replaced without building the matrix (training new rows). */
  overlays?: RowOverlays;
  /**
   * Record each block on a gradient tape as one op recomputed in the backward pass (see
   * layers/checkpoint.ts); only tf.Variables among a block's weights get gradients, and no KV cache
   * is returned. For training steps, where tfjs would otherwise hold every intermediate (the Llama
   * family implements it; GPT-2 ignores it).
   */
  checkpointBlocks?: boolean;
}

/**
 * One architecture family: which tensors it has, how they are laid out, and its forward pass.
 * Everything here is stateless; a model is a family plus a config and a WeightMap.
 */
export interface ModelFamily {
  /** Normalizes config.json into a ModelConfig. */
  parseConfig(raw: Record<string, unknown>, architecture: string): ModelConfig;
  /** Every tensor the model needs, by Hugging Face name (tied models have no lm_head.weight). */
  tensorSpecs(config: ModelConfig): Map<string, TensorSpec>;
  /** Checkpoint names this family renames (old GPT-2 files lack "transformer.") or ignores (buffers). */
  normalizeName(name: string): string | null;
  layout(config: ModelConfig): ParameterLayout;
  /**
   * Logits [B, T, vocabRows] and the cache extended by these positions. Pure in `weights`; all
   * intermediates are tfjs-tracked (call inside tf.tidy or a gradient function).
   */
  run(config: ModelConfig, weights: WeightMap, inputIds: tf.Tensor2D, options?: RunOptions): { logits: tf.Tensor3D; cache: KvCache };
}
