import * as tf from "@tensorflow/tfjs-core";
import type { ParameterLayout } from "../causal-lm";
import type { KvCache, ModelFamily, RunOptions, TensorSpec } from "../model-family";
import { assertSequenceFits, type ModelConfig } from "../model-config";
import { parseModelConfig } from "../parse-model-config";
import { activation } from "../layers/activations";
import { attentionBias, mergeHeads, scaledDotProductAttention, splitHeads } from "../layers/attention";
import { linear } from "../layers/linear";
import { layerNorm } from "../layers/normalization";
import { embed, outputLogits } from "../layers/embedding";

/**
 * GPT-2: learned position embeddings, pre-LayerNorm blocks, fused q/k/v projection. Its Conv1D
 * weights are already [in, out] in the checkpoint, so nothing is transposed.
 */
export const GPT2: ModelFamily = {
  parseConfig: (raw, architecture) =>
    parseModelConfig(raw, architecture, {
      vocabSize: "vocab_size",
      hiddenSize: "n_embd",
      numLayers: "n_layer",
      numHeads: "n_head",
      intermediateSize: "n_inner",
      intermediateDefault: (hidden) => 4 * hidden,
      maxPositionEmbeddings: "n_positions",
      learnedPositions: true,
      tieDefault: true,
    }),

  tensorSpecs(config) {
    const { vocabSize: v, hiddenSize: h, intermediateSize: m } = config;
    const spec = (...hfShape: number[]): TensorSpec => ({ hfShape, transposed: false });
    const specs = new Map<string, TensorSpec>([
      ["transformer.wte.weight", spec(v, h)],
      ["transformer.wpe.weight", spec(config.maxPositionEmbeddings, h)],
    ]);
    for (let i = 0; i < config.numLayers; i++) {
      const p = `transformer.h.${i}.`;
      specs.set(`${p}ln_1.weight`, spec(h));
      specs.set(`${p}ln_1.bias`, spec(h));
      specs.set(`${p}attn.c_attn.weight`, spec(h, 3 * h));
      specs.set(`${p}attn.c_attn.bias`, spec(3 * h));
      specs.set(`${p}attn.c_proj.weight`, spec(h, h));
      specs.set(`${p}attn.c_proj.bias`, spec(h));
      specs.set(`${p}ln_2.weight`, spec(h));
      specs.set(`${p}ln_2.bias`, spec(h));
      specs.set(`${p}mlp.c_fc.weight`, spec(h, m));
      specs.set(`${p}mlp.c_fc.bias`, spec(m));
      specs.set(`${p}mlp.c_proj.weight`, spec(m, h));
      specs.set(`${p}mlp.c_proj.bias`, spec(h));
    }
    specs.set("transformer.ln_f.weight", spec(h));
    specs.set("transformer.ln_f.bias", spec(h));
    if (!config.tieWordEmbeddings) specs.set("lm_head.weight", spec(v, h));
    return specs;
  },

  normalizeName(name) {
    // Causal-mask buffers some GPT-2 files carry are not weights.
    if (/\.attn\.(masked_)?bias$/.test(name)) return null;
    // The original OpenAI-converted files name tensors without the "transformer." prefix.
    return name.startsWith("transformer.") || name.startsWith("lm_head.") ? name : `transformer.${name}`;
  },

  layout(config): ParameterLayout {
    return {
      embedding: "transformer.wte.weight",
      head: config.tieWordEmbeddings ? null : "lm_head.weight",
      extras: ["transformer.wpe.weight"],
      blocks: Array.from({ length: config.numLayers }, (_, i) => {
        const p = `transformer.h.${i}.`;
        return {
          attention: ["c_attn.weight", "c_attn.bias", "c_proj.weight", "c_proj.bias"].map((n) => `${p}attn.${n}`),
          mlp: ["c_fc.weight", "c_fc.bias", "c_proj.weight", "c_proj.bias"].map((n) => `${p}mlp.${n}`),
          norms: [`${p}ln_1.weight`, `${p}ln_1.bias`, `${p}ln_2.weight`, `${p}ln_2.bias`],
        };
      }),
      finalNorm: ["transformer.ln_f.weight", "transformer.ln_f.bias"],
    };
  },

  run(config: ModelConfig, weights, inputIds, options: RunOptions = {}) {
    const w = (name: string) => weights.get(name)!;
    const eps = Number(config.raw.layer_norm_epsilon ?? 1e-5);
    const act = activation(String(config.raw.activation_function ?? "gelu_new"));
    const { numHeads: nh, headDim: hd, hiddenSize } = config;
    const length = inputIds.shape[1];
    const offset = options.cache?.[0]?.key.shape[2] ?? 0;
    assertSequenceFits(config, offset + length, "GPT-2 forward");
    const bias = attentionBias(length, offset, options.attentionMask);
    const positions = tf.range(offset, offset + length, 1, "int32");
    const cache: KvCache = [];

    const overlay = (name: string) => options.overlays?.get(name);
    const wte = "transformer.wte.weight";
    let h = tf.add(embed(w(wte), inputIds, overlay(wte)), tf.gather(w("transformer.wpe.weight"), positions)); // [B, T, h]
    for (let i = 0; i < config.numLayers; i++) {
      const p = `transformer.h.${i}.`;
      const x = layerNorm(h, w(`${p}ln_1.weight`), w(`${p}ln_1.bias`), eps);
      const qkv = linear(x, w(`${p}attn.c_attn.weight`), w(`${p}attn.c_attn.bias`)); // [B, T, 3h]
      const [qFlat, kFlat, vFlat] = tf.split(qkv, [hiddenSize, hiddenSize, hiddenSize], 2);
      const q = splitHeads(qFlat, nh, hd); // [B, nh, T, hd]
      let k = splitHeads(kFlat, nh, hd);
      let v = splitHeads(vFlat, nh, hd);
      const past = options.cache?.[i];
      if (past) {
        k = tf.concat([past.key, k], 2); // [B, nh, S, hd]
        v = tf.concat([past.value, v], 2);
      }
      cache.push({ key: k, value: v });
      const attended = mergeHeads(scaledDotProductAttention(q, k, v, bias));
      h = tf.add(h, linear(attended, w(`${p}attn.c_proj.weight`), w(`${p}attn.c_proj.bias`)));
      const y = layerNorm(h, w(`${p}ln_2.weight`), w(`${p}ln_2.bias`), eps);
      const hidden = act(linear(y, w(`${p}mlp.c_fc.weight`), w(`${p}mlp.c_fc.bias`)));
      h = tf.add(h, linear(hidden, w(`${p}mlp.c_proj.weight`), w(`${p}mlp.c_proj.bias`)));
    }
    h = layerNorm(h, w("transformer.ln_f.weight"), w("transformer.ln_f.bias"), eps);
    const head = config.tieWordEmbeddings ? wte : "lm_head.weight";
    return { logits: outputLogits(h, w(head), overlay(head)), cache };
  },
};
