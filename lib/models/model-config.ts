import { TokenlabError } from "../errors/tokenlab-error";

/**
 * The fields of a Hugging Face config.json every family needs, normalized to one shape, plus the
 * raw JSON (kept verbatim so saving writes back everything the user's checkpoint had).
 */
export interface ModelConfig {
  /** HF architecture name, e.g. "LlamaForCausalLM". */
  architecture: string;
  /** Rows of the embedding matrix (may exceed the tokenizer's size: padding rows). */
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  /**
   * The hard limit on positions (past + new) a forward pass accepts: the rows of a learned position
   * table (GPT-2's `n_positions`) and that config.json key; null for RoPE families, which run past
   * max_position_embeddings (with degraded quality, as in transformers).
   */
  positionLimit: { length: number; key: string } | null;
  tieWordEmbeddings: boolean;
  initializerRange: number;
  /** config.json as read, updated (vocab_size, ...) when the model changes. */
  raw: Record<string, unknown>;
}

/** Throws a clear error when `length` positions do not fit `config`'s position limit (see positionLimit). */
export function assertSequenceFits(config: ModelConfig, length: number, what: string): void {
  const limit = config.positionLimit;
  if (limit !== null && length > limit.length) {
    throw new TokenlabError(
      `${what}: ${length} positions do not fit this ${config.architecture}, whose learned position table has ${limit.length} rows (${limit.key} = ${limit.length} in config.json); use at most ${limit.length}`,
      { length, [limit.key]: limit.length },
    );
  }
}
