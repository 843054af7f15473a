import type * as tf from "@tensorflow/tfjs-core";
import { TokenlabError } from "../errors/tokenlab-error";
import type { HfTokenizer } from "../hf/tokenizer";
import type { RowOverlays } from "./layers/embedding";
import { vocabRows } from "./model-rows";
import type { ModelConfig } from "./model-config";

/**
 * Weights keyed by their Hugging Face tensor name, verbatim ("model.embed_tokens.weight",
 * "lm_head.weight", "transformer.h.0.attn.c_attn.weight", ...).
 *
 * Invariant every part of tokenlab relies on: the input embedding and an untied output head are
 * stored as [vocabRows, hidden] — one row per token id — exactly as in the checkpoint. Other
 * matrices may be kept in whatever layout the family computes fastest; the family converts on
 * load and save.
 */
export type WeightMap = ReadonlyMap<string, tf.Tensor>;

/** Which tensor names make up which part of the model; layer groups and training are built on it. */
export interface ParameterLayout {
  /** Input embedding [vocabRows, hidden]. */
  embedding: string;
  /** Output head [vocabRows, hidden]; null when tied to the embedding. */
  head: string | null;
  /** Other tensors outside the blocks (e.g. GPT-2 position embeddings). */
  extras: string[];
  blocks: Array<{ attention: string[]; mlp: string[]; norms: string[] }>;
  finalNorm: string[];
}

export interface ModelChanges {
  weights?: WeightMap;
  overlays?: RowOverlays;
  config?: ModelConfig;
  tokenizer?: HfTokenizer;
}

export interface ForwardOptions {
  overlays?: RowOverlays;
  checkpointBlocks?: boolean;
}

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  /** Stop strings or token ids; the tokenizer's eos id always stops. */
  stop?: Array<string | number>;
  seed?: number;
  /** Stops generation early (returning what was generated); defaults to the notebook cell's interrupt signal. */
  signal?: AbortSignal;
}

/**
 * A causal language model: a config, a tokenizer, weights and a pure forward function.
 * Instances are immutable; variants (added tokens, trained weights) are new instances that share
 * unchanged tensors. Whoever creates a CausalLM owns its tensors; `dispose()` frees the tensors
 * not shared with other live models created from it (see the implementation's notes).
 */
export interface CausalLM {
  readonly config: ModelConfig;
  readonly tokenizer: HfTokenizer;
  readonly weights: WeightMap;
  /**
   * Rows of the embedding / an untied head that the tensor in `weights` does not hold: the rows of
   * added tokens (and new padding rows), kept apart so that the frozen matrix stays shared with the
   * model the tokens were added to instead of being copied. Their ids may go past the tensor's rows.
   * `forward` applies each wherever the weights it gets hold this model's own tensor of that name;
   * read the matrices through model-rows.ts (vocabRows, matrixRows, matrixRowReader,
   * materializedWeights), never by the tensor's shape alone. The model owns the rows tensors.
   */
  readonly overlays: RowOverlays;
  readonly layout: ParameterLayout;
  /** The checkpoint directory this model was loaded from (absent on variants: their weights differ). */
  readonly source?: string;

  /**
   * Logits [batch, seq, vocabRows] for `inputIds` [batch, seq] under a causal mask (and padding
   * mask when given, 1 = real token). A pure function of `weights` (and `options.overlays`: rows
   * replaced in the embedding / head, over the model's own `overlays` of the tensors `weights`
   * shares with the model), so training can differentiate it with respect to any tensors used to
   * build them — with `checkpointBlocks`, only with respect to tf.Variables in the blocks, the
   * overlays and the embedding, at the cost of recomputing each block in the backward pass.
   */
  forward(weights: WeightMap, inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, options?: ForwardOptions): tf.Tensor3D;

  /** Convenience: float32 logits for a batch of equal-length id lists with this model's weights. */
  logits(ids: number[][]): tf.Tensor3D;

  /** Sampling / greedy decoding with a KV cache. Returns the generated ids and text. */
  generate(prompt: string | number[], options?: GenerateOptions): Promise<{ ids: number[]; text: string }>;

  /**
   * A new model of the same family with other weights/config/tokenizer (tensors are shared, not
   * copied). `overlays` replace those of the names they have; the other overlays carry over (their
   * rows cloned: each model owns its own) where the new weights keep the tensor they overlay.
   */
  withChanges(changes: ModelChanges): CausalLM;
}

/**
 * Throws a clear error when `model`'s tensors were freed (`model.dispose()`), instead of tfjs's
 * "Tensor is disposed" from deep inside `action`.
 */
export function assertNotDisposed(model: CausalLM, action: string): void {
  for (const [name, tensor] of [...model.weights, ...[...model.overlays].map(([name, overlay]) => [`${name} (added rows)`, overlay.rows] as const)]) {
    if (tensor.isDisposed) {
      throw new TokenlabError(`${action}: the model was disposed (its tensor ${name} is freed); load it again or keep a model that is still in use`, {
        tensor: name,
      });
    }
  }
}

/** Throws unless every id is a token of `model`: known to its tokenizer and backed by an embedding row. */
export function assertTokenIds(model: CausalLM, ids: readonly unknown[], what: string): void {
  const rows = vocabRows(model);
  const tokens = Math.min(model.tokenizer.size, rows);
  const bad = ids.find((id) => !Number.isInteger(id) || (id as number) < 0 || (id as number) >= tokens);
  if (bad !== undefined) {
    throw new TokenlabError(`${what}: ${JSON.stringify(bad)} is not a token id of this model (its tokens are ids 0…${tokens - 1})`, { id: bad, tokens });
  }
}

