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
  tieWordEmbeddings: boolean;
  initializerRange: number;
  /** config.json as read, updated (vocab_size, ...) when the model changes. */
  raw: Record<string, unknown>;
}
