import * as tf from "@tensorflow/tfjs-core";
import type { ParameterLayout } from "../causal-lm";
import type { KvCache, ModelFamily, RunOptions, TensorSpec } from "../model-family";
import type { ModelConfig } from "../model-config";
import { parseModelConfig } from "../parse-model-config";
import { activation } from "../layers/activations";
import { attentionBias, mergeHeads, scaledDotProductAttention, splitHeads } from "../layers/attention";
import { checkpointed } from "../layers/checkpoint";
import { embed, outputLogits } from "../layers/embedding";
import { linear } from "../layers/linear";
import { rmsNorm } from "../layers/normalization";
import { applyRope, ropeSettings, ropeTables } from "../layers/rope";

/**
 * The Llama family: pre-norm decoder blocks with RMSNorm, rotary embeddings, grouped-query
 * attention and a gated MLP. Variants differ only in small switches:
 *   Llama / Mistral: no biases (unless `attention_bias`); Qwen2: q/k/v biases and never an o_proj
 *   bias, whatever `attention_bias` says (as in transformers' Qwen2Attention); Qwen3: RMSNorm on
 *   each head of q and k before RoPE; Mistral and Qwen may use sliding-window attention.
 * nn.Linear weights ([out, in] in the checkpoint) are kept transposed as [in, out] so the forward
 * pass is plain matMuls; the embedding and lm_head stay [vocabRows, hidden].
 */
export interface LlamaVariant {
  qkvBias: (raw: Record<string, unknown>) => boolean;
  oBias: (raw: Record<string, unknown>) => boolean;
  qkNorm: boolean;
  /** Sliding-window size of layer `layer`, or null for full attention. */
  slidingWindow: (raw: Record<string, unknown>, layer: number) => number | null;
}

const ATTENTION_BIAS = (raw: Record<string, unknown>) => raw.attention_bias === true;
const windowSize = (raw: Record<string, unknown>) => (typeof raw.sliding_window === "number" ? raw.sliding_window : null);
/** Qwen: `layer_types` when present, else sliding layers from max_window_layers on if use_sliding_window. */
const QWEN_WINDOW = (raw: Record<string, unknown>, layer: number) => {
  const sliding = Array.isArray(raw.layer_types)
    ? raw.layer_types[layer] === "sliding_attention"
    : raw.use_sliding_window === true && layer >= Number(raw.max_window_layers ?? 0);
  return sliding ? windowSize(raw) : null;
};

export const LLAMA: LlamaVariant = { qkvBias: ATTENTION_BIAS, oBias: ATTENTION_BIAS, qkNorm: false, slidingWindow: () => null };
export const MISTRAL: LlamaVariant = { qkvBias: ATTENTION_BIAS, oBias: ATTENTION_BIAS, qkNorm: false, slidingWindow: windowSize };
export const QWEN2: LlamaVariant = { qkvBias: () => true, oBias: () => false, qkNorm: false, slidingWindow: QWEN_WINDOW };
export const QWEN3: LlamaVariant = { qkvBias: ATTENTION_BIAS, oBias: ATTENTION_BIAS, qkNorm: true, slidingWindow: QWEN_WINDOW };

export function llamaFamily(variant: LlamaVariant): ModelFamily {
  const attentionNames = (config: ModelConfig, i: number): string[] => {
    const p = `model.layers.${i}.self_attn.`;
    const names = ["q_proj", "k_proj", "v_proj", "o_proj"].map((m) => `${p}${m}.weight`);
    if (variant.qkvBias(config.raw)) names.push(...["q_proj", "k_proj", "v_proj"].map((m) => `${p}${m}.bias`));
    if (variant.oBias(config.raw)) names.push(`${p}o_proj.bias`);
    if (variant.qkNorm) names.push(`${p}q_norm.weight`, `${p}k_norm.weight`);
    return names;
  };

  return {
    parseConfig: (raw, architecture) =>
      parseModelConfig(raw, architecture, {
        vocabSize: "vocab_size",
        hiddenSize: "hidden_size",
        numLayers: "num_hidden_layers",
        numHeads: "num_attention_heads",
        numKeyValueHeads: "num_key_value_heads",
        headDim: "head_dim",
        intermediateSize: "intermediate_size",
        maxPositionEmbeddings: "max_position_embeddings",
        tieDefault: false,
      }),

    tensorSpecs(config) {
      const { vocabSize: v, hiddenSize: h, numHeads: nh, numKeyValueHeads: nkv, headDim: hd, intermediateSize: m } = config;
      const linearSpec = (out: number, inp: number): TensorSpec => ({ hfShape: [out, inp], transposed: true });
      const vector = (n: number): TensorSpec => ({ hfShape: [n], transposed: false });
      const shapes: Record<string, TensorSpec> = {
        "self_attn.q_proj.weight": linearSpec(nh * hd, h),
        "self_attn.k_proj.weight": linearSpec(nkv * hd, h),
        "self_attn.v_proj.weight": linearSpec(nkv * hd, h),
        "self_attn.o_proj.weight": linearSpec(h, nh * hd),
        "self_attn.q_proj.bias": vector(nh * hd),
        "self_attn.k_proj.bias": vector(nkv * hd),
        "self_attn.v_proj.bias": vector(nkv * hd),
        "self_attn.o_proj.bias": vector(h),
        "self_attn.q_norm.weight": vector(hd),
        "self_attn.k_norm.weight": vector(hd),
      };
      const specs = new Map<string, TensorSpec>([["model.embed_tokens.weight", { hfShape: [v, h], transposed: false }]]);
      for (let i = 0; i < config.numLayers; i++) {
        const p = `model.layers.${i}.`;
        specs.set(`${p}input_layernorm.weight`, vector(h));
        for (const name of attentionNames(config, i)) specs.set(name, shapes[name.slice(p.length)]);
        specs.set(`${p}post_attention_layernorm.weight`, vector(h));
        specs.set(`${p}mlp.gate_proj.weight`, linearSpec(m, h));
        specs.set(`${p}mlp.up_proj.weight`, linearSpec(m, h));
        specs.set(`${p}mlp.down_proj.weight`, linearSpec(h, m));
      }
      specs.set("model.norm.weight", vector(h));
      if (!config.tieWordEmbeddings) specs.set("lm_head.weight", { hfShape: [v, h], transposed: false });
      return specs;
    },

    normalizeName: (name) => (name.endsWith("rotary_emb.inv_freq") ? null : name),

    layout(config): ParameterLayout {
      return {
        embedding: "model.embed_tokens.weight",
        head: config.tieWordEmbeddings ? null : "lm_head.weight",
        extras: [],
        blocks: Array.from({ length: config.numLayers }, (_, i) => ({
          attention: attentionNames(config, i),
          mlp: ["gate_proj", "up_proj", "down_proj"].map((m) => `model.layers.${i}.mlp.${m}.weight`),
          norms: [`model.layers.${i}.input_layernorm.weight`, `model.layers.${i}.post_attention_layernorm.weight`],
        })),
        finalNorm: ["model.norm.weight"],
      };
    },

    run(config, weights, inputIds, options: RunOptions = {}) {
      const layout = this.layout(config);
      const w = (name: string) => weights.get(name)!;
      const optional = (name: string) => weights.get(name);
      const eps = Number(config.raw.rms_norm_eps ?? 1e-6);
      const act = activation(String(config.raw.hidden_act ?? "silu"));
      const { numHeads: nh, numKeyValueHeads: nkv, headDim: hd } = config;
      const length = inputIds.shape[1];
      const offset = options.cache?.[0]?.key.shape[2] ?? 0;
      const biases = new Map<number | null, tf.Tensor>(); // one mask per distinct window
      const biasFor = (layer: number) => {
        const window = variant.slidingWindow(config.raw, layer);
        if (!biases.has(window)) biases.set(window, attentionBias(length, offset, options.attentionMask, window));
        return biases.get(window)!;
      };
      const { cos, sin } = ropeTables(ropeSettings(config.raw, hd, config.maxPositionEmbeddings), offset, length);
      const cache: KvCache = [];

      const overlay = (name: string) => options.overlays?.get(name);
      let h = embed(w("model.embed_tokens.weight"), inputIds, overlay("model.embed_tokens.weight")); // [B, T, h]
      for (let i = 0; i < config.numLayers; i++) biasFor(i); // made outside the per-block tidy below
      for (let i = 0; i < config.numLayers; i++) {
        // Each block in its own tidy: under a gradient tape, what the backward pass needs is kept by
        // tfjs as saved (reference-counted) clones, so the block's other intermediates — attention
        // scores before softmax, norm internals... — are freed here instead of at the end of the step.
        const runBlock = (previous: tf.Tensor, constants: readonly tf.Tensor[]) => tf.tidy(() => {
          const [blockCos, blockSin, bias] = constants as [tf.Tensor2D, tf.Tensor2D, tf.Tensor];
          const p = `model.layers.${i}.`;
          const x = rmsNorm(previous, w(`${p}input_layernorm.weight`), eps);
          const project = (m: string) => linear(x, w(`${p}self_attn.${m}.weight`), optional(`${p}self_attn.${m}.bias`));
          let q = splitHeads(project("q_proj"), nh, hd); // [B, nh, T, hd]
          let k = splitHeads(project("k_proj"), nkv, hd); // [B, nkv, T, hd]
          let v = splitHeads(project("v_proj"), nkv, hd);
          if (variant.qkNorm) {
            q = rmsNorm(q, w(`${p}self_attn.q_norm.weight`), eps);
            k = rmsNorm(k, w(`${p}self_attn.k_norm.weight`), eps);
          }
          q = applyRope(q, blockCos, blockSin);
          k = applyRope(k, blockCos, blockSin);
          const past = options.cache?.[i];
          if (past) {
            k = tf.concat([past.key, k], 2); // [B, nkv, S, hd]
            v = tf.concat([past.value, v], 2);
          }
          const attended = scaledDotProductAttention(q, k, v, bias);
          const mid = tf.add(previous, linear(mergeHeads(attended), w(`${p}self_attn.o_proj.weight`), optional(`${p}self_attn.o_proj.bias`)));

          const y = rmsNorm(mid, w(`${p}post_attention_layernorm.weight`), eps);
          const gated = tf.mul(act(linear(y, w(`${p}mlp.gate_proj.weight`))), linear(y, w(`${p}mlp.up_proj.weight`)));
          return { h: tf.add(mid, linear(gated, w(`${p}mlp.down_proj.weight`))), key: k, value: v };
        });
        if (options.checkpointBlocks) {
          const { attention, mlp, norms } = layout.blocks[i];
          const trainable = [...attention, ...mlp, ...norms].map(w).filter((t) => t instanceof tf.Variable);
          h = checkpointed((x, constants) => runBlock(x, constants).h, h, [cos, sin, biasFor(i)], trainable);
          continue;
        }
        const block = runBlock(h, [cos, sin, biasFor(i)]);
        cache.push({ key: block.key, value: block.value });
        h = block.h;
      }
      h = rmsNorm(h, w("model.norm.weight"), eps);
      const head = config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
      return { logits: outputLogits(h, w(head), overlay(head)), cache };
    },
  };
}
