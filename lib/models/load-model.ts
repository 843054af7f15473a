import { ensureBackend } from "../backend/init-backend";
import { TokenlabError } from "../errors/tokenlab-error";
import { readCheckpoint, writeCheckpoint } from "../hf/checkpoint";
import type { FloatDtype } from "../hf/safetensors";
import type { CausalLM } from "./causal-lm";
import { architectureOf, familyFor } from "./registry";
import { TransformerLM } from "./transformer-lm";
import { weightsFromCheckpoint, weightsToCheckpoint } from "./weight-conversion";

const TORCH_DTYPES: Record<FloatDtype, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

/**
 * Loads a Hugging Face checkpoint directory (config.json, safetensors, tokenizer files). Initializes
 * the default backend if none is active. The caller owns the model's tensors (`model.dispose()`).
 */
export async function loadModel(dir: string): Promise<TransformerLM> {
  await ensureBackend();
  const checkpoint = readCheckpoint(dir);
  const architecture = architectureOf(checkpoint.config);
  const family = familyFor(architecture);
  const config = family.parseConfig(checkpoint.config, architecture);
  const weights = weightsFromCheckpoint(family, config, checkpoint.tensors);
  return new TransformerLM(family, config, checkpoint.tokenizer, weights, checkpoint.generationConfig);
}

export interface SaveOptions {
  /** Storage dtype; default: the config's torch_dtype (the dtype the checkpoint was loaded in), else F32. */
  dtype?: FloatDtype;
  /** Split the weights into shards of at most this many bytes. */
  maxShardBytes?: number;
}

/**
 * Writes `model` as a checkpoint Python transformers loads. config.json gets the current
 * vocab_size (embedding rows), tie_word_embeddings and torch_dtype. The directory is replaced
 * atomically; files that are not part of a checkpoint (README...) are kept.
 */
export async function saveModel(model: CausalLM, dir: string, options: SaveOptions = {}): Promise<void> {
  const family = familyFor(model.config.architecture);
  const rows = model.weights.get(model.layout.embedding)?.shape[0];
  if (rows === undefined) throw new TokenlabError(`model has no embedding tensor ${model.layout.embedding}`);
  const dtype = options.dtype ?? dtypeFromTorch(model.config.raw.torch_dtype);
  const raw = {
    ...model.config.raw,
    vocab_size: rows,
    tie_word_embeddings: model.config.tieWordEmbeddings,
    torch_dtype: TORCH_DTYPES[dtype],
  };
  const config = { ...model.config, vocabSize: rows, raw };
  for (const [name, tensor] of model.weights) {
    if (name === model.layout.head && tensor.shape[0] !== rows) {
      throw new TokenlabError(`${name} has ${tensor.shape[0]} rows but the embedding has ${rows}`, { tensor: name });
    }
  }
  const tensors = weightsToCheckpoint(family, config, model.weights).map((t) => ({ ...t, dtype }));
  const generationConfig = model instanceof TransformerLM ? model.generationConfig : undefined;
  writeCheckpoint(dir, { config: raw, tensors, tokenizer: model.tokenizer, generationConfig: generationConfig as Record<string, unknown>, maxShardBytes: options.maxShardBytes });
}

function dtypeFromTorch(torchDtype: unknown): FloatDtype {
  const found = (Object.keys(TORCH_DTYPES) as FloatDtype[]).find((d) => TORCH_DTYPES[d] === torchDtype);
  return found ?? "F32";
}
