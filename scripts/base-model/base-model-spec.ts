/**
 * Everything that defines the bundled base model, in one place: the model card quotes these values
 * and `npm run pretrain-base` reproduces the checkpoint from them.
 */

export const VOCAB_SIZE = 4096; // 256 bytes + 3838 merges + 2 specials; keeps the tied embedding at 0.5M params
export const EOS_TOKEN = "<|endoftext|>"; // separates documents; also bos, as in GPT-2
export const PAD_TOKEN = "<|pad|>"; // never trained on; masked out by attention masks
export const SPECIAL_TOKENS = [EOS_TOKEN, PAD_TOKEN];
export const EOS_TOKEN_ID = VOCAB_SIZE - 2;
export const PAD_TOKEN_ID = VOCAB_SIZE - 1;

export const SEQUENCE_LENGTH = 128;

/** config.json of the checkpoint (transformers' LlamaConfig field names and defaults). */
export const LLAMA_CONFIG = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  vocab_size: VOCAB_SIZE,
  hidden_size: 128,
  intermediate_size: 384, // 3 × hidden: SwiGLU's three matrices then cost what GPT's two 4× ones do
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  head_dim: 32,
  hidden_act: "silu",
  max_position_embeddings: SEQUENCE_LENGTH, // trained at this length only
  initializer_range: 0.02,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  rope_scaling: null,
  attention_bias: false,
  attention_dropout: 0.0,
  mlp_bias: false,
  pretraining_tp: 1,
  tie_word_embeddings: true,
  bos_token_id: EOS_TOKEN_ID,
  eos_token_id: EOS_TOKEN_ID,
  pad_token_id: PAD_TOKEN_ID,
  torch_dtype: "float32",
  use_cache: true,
};

export const TOKENIZER_CONFIG = {
  tokenizer_class: "PreTrainedTokenizerFast",
  bos_token: EOS_TOKEN,
  eos_token: EOS_TOKEN,
  pad_token: PAD_TOKEN,
  unk_token: null,
  add_bos_token: false,
  add_eos_token: false,
  clean_up_tokenization_spaces: false,
  model_max_length: SEQUENCE_LENGTH,
  // Plain-text turns the model has seen in Brown's fiction; new chat markers are the user's to add.
  chat_template:
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}" +
    "{% if add_generation_prompt %}assistant:{% endif %}",
};

export const GENERATION_CONFIG = {
  bos_token_id: EOS_TOKEN_ID,
  eos_token_id: EOS_TOKEN_ID,
  pad_token_id: PAD_TOKEN_ID,
  max_length: SEQUENCE_LENGTH,
};

export interface PretrainingOptions {
  seed: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  minLrFactor: number;
  weightDecay: number;
  clipNorm: number;
  evalEvery: number;
}

export const PRETRAINING: PretrainingOptions = {
  seed: 1234,
  steps: 1200, // ~0.75 epoch: what about an hour of 2 CPU cores shared with other jobs allowed (wasm)
  batchSize: 8,
  learningRate: 3e-3, // tiny models tolerate (and need) a high rate to learn in under an epoch
  warmupSteps: 40,
  minLrFactor: 0.1,
  weightDecay: 0.1,
  clipNorm: 1.0,
  evalEvery: 300,
};

/** Common words whose embedding neighbours the model card lists. */
export const NEIGHBOUR_PROBE_WORDS = ["man", "said", "city", "good", "three", "he", "water", "house"];

/** Prompts the model card continues, sampled with a fixed seed (greedy decoding of a model this small loops). */
export const SAMPLE_PROMPTS = ["The jury said", "He looked at the", "The city of"];
export const SAMPLING = { maxNewTokens: 40, temperature: 0.8, topK: 40, seed: 0 };
