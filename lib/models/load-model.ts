import * as tf from "@tensorflow/tfjs-core";
import * as path from "node:path";
import { ensureBackend } from "../backend/init-backend";
import { baseModelDir } from "../base-model/location";
import { optionChecks } from "../errors/option-checks";
import { TokenlabError } from "../errors/tokenlab-error";
import { checkTargetDirectory } from "../hf/atomic-write";
import { readCheckpoint, writeCheckpoint } from "../hf/checkpoint";
import { FLOAT_DTYPES, isFloatDtype, type FloatDtype } from "../hf/safetensors";
import type { CausalLM } from "./causal-lm";
import { architectureOf, familyFor } from "./registry";
import { TransformerLM } from "./transformer-lm";
import { weightsFromCheckpoint, weightsToCheckpoint } from "./weight-conversion";
import { materializedWeights, vocabRows } from "./model-rows";

const TORCH_DTYPES: Record<FloatDtype, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

/**
 * Loads a Hugging Face checkpoint directory (config.json, safetensors, tokenizer files). Initializes
 * the default backend if none is active. The caller owns the model's tensors (`model.dispose()`).
 * The model's raw config records the dtype the weights were stored in (see `withDtype`), so a
 * later save keeps it even when config.json did not say. Without a directory it loads the bundled
 * base model, the default wherever a model is optional.
 */
export async function loadModel(dir: string = baseModelDir(), options: LoadOptions = {}): Promise<TransformerLM> {
  const backendName = await ensureBackend();
  if (options.keepBf16 && backendName !== "wasm") {
    throw new TokenlabError(`loadModel keepBf16 needs the wasm backend (its 16-bit kernels are wasm only); the active backend is ${backendName}`, { backend: backendName });
  }
  const checkpoint = readCheckpoint(dir);
  const architecture = architectureOf(checkpoint.config);
  const family = familyFor(architecture);
  const config = family.parseConfig(withDtype(checkpoint.config, checkpoint.dtype), architecture);
  // Refused here, not when one of those ids first reaches the embedding lookup deep inside a forward pass.
  if (checkpoint.tokenizer.size > config.vocabSize) {
    throw new TokenlabError(
      `${dir}: the tokenizer has ids up to ${checkpoint.tokenizer.size - 1} but the embedding has only ${config.vocabSize} rows (config.json vocab_size); tokenizer.json and the weights do not belong together`,
      { dir, tokenizerSize: checkpoint.tokenizer.size, rows: config.vocabSize },
    );
  }
  const weights = weightsFromCheckpoint(family, config, checkpoint.tensors, options.keepBf16 ?? false);
  return new TransformerLM(family, config, checkpoint.tokenizer, weights, checkpoint.generationConfig, path.resolve(dir));
}

export interface LoadOptions {
  /**
   * Keep a BF16 checkpoint's matrices (nn.Linear weights, embedding, head) 16-bit on the wasm heap and
   * multiply them with float32 accumulation, halving their memory: a 1.2B model as float32 (5 GB)
   * exceeds the 4 GB wasm32 heap. Logits differ from the float32 path only by summation order.
   * Off by default: adding tokens widens the embedding (and head) to float32, and a matrix widens
   * when it starts training. Saving writes the kept bits unchanged.
   */
  keepBf16?: boolean;
}

export interface SaveOptions {
  /** Storage dtype; default: the config's dtype (for a loaded model, the dtype its weights were stored in), else F32. */
  dtype?: FloatDtype;
  /** Split the weights into shards of at most this many bytes. */
  maxShardBytes?: number;
}

/**
 * Writes `model` as a checkpoint Python transformers loads. config.json gets the current
 * vocab_size (embedding rows), tie_word_embeddings and the storage dtype. The directory is replaced
 * atomically; files that are not part of a checkpoint (README...) are kept.
 */
export async function saveModel(model: CausalLM, dir: string, options: SaveOptions = {}): Promise<void> {
  writeModel(model, dir, options);
}

/** saveModel's synchronous body, for writers that assemble a whole folder inside one directory swap (exportRecipe). */
export function writeModel(model: CausalLM, dir: string, options: SaveOptions = {}): void {
  checkTargetDirectory(dir); // also checked by the writer; here it fails before the weights are converted
  checkSaveOptions(options);
  const family = familyFor(model.config.architecture);
  if (!model.weights.has(model.layout.embedding)) throw new TokenlabError(`model has no embedding tensor ${model.layout.embedding}`);
  const rows = vocabRows(model);
  const dtype = options.dtype ?? dtypeOfConfig(model.config.raw) ?? "F32";
  const raw = withDtype({ ...model.config.raw, vocab_size: rows, tie_word_embeddings: model.config.tieWordEmbeddings }, dtype);
  const config = { ...model.config, vocabSize: rows, raw };
  // Added rows (CausalLM.overlays) are written into whole matrices here, once, for the checkpoint.
  const { weights, owned } = materializedWeights(model);
  try {
    for (const [name, tensor] of weights) {
      if (name === model.layout.head && tensor.shape[0] !== rows) {
        throw new TokenlabError(`${name} has ${tensor.shape[0]} rows but the embedding has ${rows}`, { tensor: name });
      }
    }
    const tensors = weightsToCheckpoint(family, config, weights).map((t) => ({ ...t, dtype }));
    const generationConfig = model instanceof TransformerLM ? model.generationConfig : undefined;
    writeCheckpoint(dir, { config: raw, tensors, tokenizer: model.tokenizer, generationConfig: generationConfig as Record<string, unknown>, maxShardBytes: options.maxShardBytes });
  } finally {
    tf.dispose(owned);
  }
}

const SAVE_OPTION_KEYS: ReadonlyArray<keyof SaveOptions> = ["dtype", "maxShardBytes"];

/** Every option is checked before anything is written: a bad one must never replace a good checkpoint. */
function checkSaveOptions(options: SaveOptions): void {
  const checks = optionChecks(TokenlabError, "saveModel option");
  checks.knownKeys(options, SAVE_OPTION_KEYS);
  const { dtype, maxShardBytes } = options;
  if (dtype !== undefined && !isFloatDtype(dtype)) {
    // A near miss ("f16", "bfloat16") gets the spelling that works.
    const meant = FLOAT_DTYPES.find((d) => d === String(dtype).toUpperCase() || TORCH_DTYPES[d] === dtype);
    throw new TokenlabError(
      `saveModel dtype must be one of ${FLOAT_DTYPES.map((d) => `"${d}"`).join(", ")}, got ${shown(dtype)}${meant ? ` (did you mean "${meant}"?)` : ""}`,
      { option: "dtype", dtype },
    );
  }
  if (maxShardBytes !== undefined && !(Number.isSafeInteger(maxShardBytes) && maxShardBytes > 0)) {
    checks.fail("maxShardBytes", "must be a positive whole number of bytes", maxShardBytes);
  }
}

/** A value as the user wrote it: strings quoted, NaN and Infinity as themselves (JSON would say null). */
function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** The storage dtype a config.json names: "dtype" (transformers ≥ 4.56) or the older "torch_dtype". */
function dtypeOfConfig(raw: Record<string, unknown>): FloatDtype | undefined {
  const named = raw.dtype ?? raw.torch_dtype;
  return (Object.keys(TORCH_DTYPES) as FloatDtype[]).find((d) => TORCH_DTYPES[d] === named);
}

/**
 * `raw` stating `dtype`: torch_dtype always (every transformers version reads it), and "dtype" too
 * when the config uses that newer key, so no key contradicts the weights.
 */
function withDtype(raw: Record<string, unknown>, dtype: FloatDtype): Record<string, unknown> {
  const name = TORCH_DTYPES[dtype];
  return { ...raw, torch_dtype: name, ...("dtype" in raw ? { dtype: name } : {}) };
}
