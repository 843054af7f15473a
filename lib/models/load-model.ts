import * as tf from "@tensorflow/tfjs-core";
import * as path from "node:path";
import { ensureBackend, type BackendName } from "../backend/init-backend";
import { gigabytes, wasmHeapRoom } from "../backend/wasm-heap-guard";
import { baseModelDir } from "../base-model/location";
import { optionChecks } from "../errors/option-checks";
import { TokenlabError } from "../errors/tokenlab-error";
import { checkTargetDirectory } from "../hf/atomic-write";
import { readCheckpoint, writeCheckpoint } from "../hf/checkpoint";
import { FLOAT_DTYPES, isFloatDtype, type FloatDtype } from "../hf/safetensors";
import type { CausalLM } from "./causal-lm";
import { float32BytesOf, KEEP_BF16_CHOICES, keepsBf16, type KeepBf16 } from "./keep-bf16";
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
  checkLoadOptions(options, backendName);
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
  const float32Bytes = float32BytesOf([...checkpoint.tensors.values()].map((t) => t.shape));
  const keepBf16 = keepsBf16(options.keepBf16 ?? "auto", { backend: backendName, dtype: checkpoint.dtype, float32Bytes });
  assertHeapRoom(dir, keepBf16 ? float32Bytes / 2 : float32Bytes, checkpoint.dtype === "BF16" && !keepBf16);
  const weights = weightsFromCheckpoint(family, config, checkpoint.tensors, keepBf16);
  return new TransformerLM(family, config, checkpoint.tokenizer, weights, checkpoint.generationConfig, path.resolve(dir));
}

/**
 * Refuses at once a checkpoint whose weights surely do not fit in what the wasm heap has left,
 * instead of failing after reading most of it (a 1.2B model as float32: 50 s, then a full heap).
 */
function assertHeapRoom(dir: string, bytes: number, couldKeepBf16: boolean): void {
  const room = wasmHeapRoom();
  if (room === undefined || bytes <= room) return;
  throw new TokenlabError(
    `${dir}: its weights take ${gigabytes(bytes)} GB ${couldKeepBf16 ? "as float32" : "on the heap"}, and at most ${gigabytes(room)} GB of the 4 GB wasm heap are free: ` +
      `${couldKeepBf16 ? "load them 16-bit (keepBf16: true; the default \"auto\" does so above 2 GiB), or " : ""}dispose of models you no longer need (model.dispose())`,
    { dir, bytes, room },
  );
}

export interface LoadOptions {
  /**
   * Keep a BF16 checkpoint's matrices (nn.Linear weights, embedding, head) 16-bit on the wasm heap and
   * multiply them with float32 accumulation, halving their memory: a 1.2B model as float32 (5 GB)
   * exceeds the 4 GB wasm32 heap. Logits differ from the float32 path only by summation order.
   * Default "auto": kept 16-bit on the wasm backend when the checkpoint stores BF16 and its weights
   * as float32 would exceed 2 GiB (AUTO_KEEP_BF16_ABOVE_BYTES; a 0.6B model and up), float32
   * otherwise; `true` forces it (wasm backend only), `false` loads float32 (as before).
   * Kept 16-bit: new token rows (addTokens) and trained new rows are rounded to bf16 as they enter
   * the packed embedding / head — what saving as BF16 would do anyway; a matrix that trains whole
   * (gradual, full, groups) trains in float32 and stays float32 in the trained model (saving
   * rounds it to the checkpoint's dtype unless `saveModel(…, {dtype: "F32"})`); every other matrix
   * stays packed and is saved with exactly the bits it was loaded from.
   */
  keepBf16?: KeepBf16;
}

const LOAD_OPTION_KEYS: ReadonlyArray<keyof LoadOptions> = ["keepBf16"];

/** Fails before the checkpoint (gigabytes, for a real model) is read. */
function checkLoadOptions(options: LoadOptions, backend: BackendName): void {
  const checks = optionChecks(TokenlabError, "loadModel option");
  checks.knownKeys(options, LOAD_OPTION_KEYS);
  checks.oneOf("keepBf16", options.keepBf16, KEEP_BF16_CHOICES);
  if (options.keepBf16 === true && backend !== "wasm") {
    throw new TokenlabError(`loadModel keepBf16 needs the wasm backend (its 16-bit kernels are wasm only); the active backend is ${backend}`, { backend });
  }
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
