import type { TensorToWrite } from "../../lib/hf/safetensors";
import { seededRandom } from "../../lib/random/seeded-random";

/** The config.json fields the Llama parameter shapes depend on. */
export interface LlamaShapeConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  initializer_range: number;
  tie_word_embeddings: boolean;
  pad_token_id: number | null;
}

/**
 * A freshly initialized LlamaForCausalLM in Hugging Face layout and names (Linear weights
 * [out, in]), as transformers' `_init_weights` makes it: every Linear and the embedding
 * ~ N(0, initializer_range), the padding row of the embedding zero, RMSNorm weights one.
 * Deterministic for a seed on every platform (mulberry32 + Box–Muller, no backend involved).
 */
export function initLlamaWeights(config: LlamaShapeConfig, seed: number): TensorToWrite[] {
  const random = seededRandom(seed);
  const normal = (shape: number[]): Float32Array => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i += 2) {
      // Box–Muller gives two independent normals per pair of uniforms; 1 - u avoids log(0).
      const radius = Math.sqrt(-2 * Math.log(1 - random())) * config.initializer_range;
      const angle = 2 * Math.PI * random();
      data[i] = radius * Math.cos(angle);
      if (i + 1 < data.length) data[i + 1] = radius * Math.sin(angle);
    }
    return data;
  };
  const ones = (shape: number[]) => new Float32Array(shape[0]).fill(1);
  const tensors: TensorToWrite[] = [];
  const add = (name: string, shape: number[], make: (shape: number[]) => Float32Array) =>
    tensors.push({ name, shape, data: make(shape), dtype: "F32" });

  const { hidden_size: hidden, head_dim: headDim, intermediate_size: intermediate } = config;
  add("model.embed_tokens.weight", [config.vocab_size, hidden], (shape) => {
    const data = normal(shape);
    if (config.pad_token_id !== null) data.fill(0, config.pad_token_id * hidden, (config.pad_token_id + 1) * hidden);
    return data;
  });
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const prefix = `model.layers.${layer}`;
    add(`${prefix}.input_layernorm.weight`, [hidden], ones);
    add(`${prefix}.self_attn.q_proj.weight`, [config.num_attention_heads * headDim, hidden], normal);
    add(`${prefix}.self_attn.k_proj.weight`, [config.num_key_value_heads * headDim, hidden], normal);
    add(`${prefix}.self_attn.v_proj.weight`, [config.num_key_value_heads * headDim, hidden], normal);
    add(`${prefix}.self_attn.o_proj.weight`, [hidden, config.num_attention_heads * headDim], normal);
    add(`${prefix}.post_attention_layernorm.weight`, [hidden], ones);
    add(`${prefix}.mlp.gate_proj.weight`, [intermediate, hidden], normal);
    add(`${prefix}.mlp.up_proj.weight`, [intermediate, hidden], normal);
    add(`${prefix}.mlp.down_proj.weight`, [hidden, intermediate], normal);
  }
  add("model.norm.weight", [hidden], ones);
  if (!config.tie_word_embeddings) add("lm_head.weight", [config.vocab_size, hidden], normal);
  return tensors;
}
