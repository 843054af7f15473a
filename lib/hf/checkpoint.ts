import * as fs from "node:fs";
import * as path from "node:path";
import { TokenlabError } from "../errors/tokenlab-error";
import { recoverInterruptedSave, replaceDirectoryAtomic } from "./atomic-write";
import { bytesPerElement, readSafetensors, writeSafetensorsStreaming, type FloatDtype, type SafetensorsEntry, type TensorToWrite } from "./safetensors";
import { HfTokenizer } from "./tokenizer";

/** The files of a Hugging Face checkpoint directory, parsed. Tensors are float32 host arrays. */
export interface Checkpoint {
  config: Record<string, unknown>;
  tensors: Map<string, SafetensorsEntry>;
  tokenizer: HfTokenizer;
  generationConfig?: Record<string, unknown>;
  /** The dtype most of the weights were stored in (used as the default when saving). */
  dtype: FloatDtype;
}

const SHARD_INDEX = "model.safetensors.index.json";

/**
 * Reads config.json, model.safetensors (or the shards of model.safetensors.index.json) and the
 * tokenizer. First repairs what a save killed midway left behind, so the checkpoint it replaced loads.
 */
export function readCheckpoint(dir: string): Checkpoint {
  recoverInterruptedSave(dir);
  if (!fs.existsSync(dir)) throw new TokenlabError(`checkpoint directory ${dir} does not exist`, { dir });
  if (!fs.statSync(dir).isDirectory()) {
    throw new TokenlabError(
      `${dir} is a file; a checkpoint is the directory that holds config.json, the safetensors and the tokenizer files: pass ${path.dirname(dir)}`,
      { dir },
    );
  }
  const config = readJsonFile(path.join(dir, "config.json"));
  const tensors = readWeights(dir);
  const tokenizer = HfTokenizer.fromDirectory(dir);
  const generationPath = path.join(dir, "generation_config.json");
  const generationConfig = fs.existsSync(generationPath) ? readJsonFile(generationPath) : undefined;
  return { config, tensors, tokenizer, generationConfig, dtype: dominantDtype(tensors) };
}

function readWeights(dir: string): Map<string, SafetensorsEntry> {
  const single = path.join(dir, "model.safetensors");
  if (fs.existsSync(single)) return readSafetensors(single).tensors;
  const indexPath = path.join(dir, SHARD_INDEX);
  if (!fs.existsSync(indexPath)) {
    throw new TokenlabError(`${dir} has neither model.safetensors nor ${SHARD_INDEX}`, { dir });
  }
  const weightMap = readJsonFile(indexPath).weight_map as Record<string, string> | undefined;
  if (typeof weightMap !== "object" || weightMap === null) {
    throw new TokenlabError(`${indexPath} has no weight_map`, { file: indexPath });
  }
  const tensors = new Map<string, SafetensorsEntry>();
  for (const shard of new Set(Object.values(weightMap))) {
    const shardPath = path.join(dir, shard);
    if (!fs.existsSync(shardPath)) throw new TokenlabError(`missing shard ${shardPath} named in ${SHARD_INDEX}`, { file: shardPath });
    for (const [name, entry] of readSafetensors(shardPath).tensors) tensors.set(name, entry);
  }
  for (const name of Object.keys(weightMap)) {
    if (!tensors.has(name)) throw new TokenlabError(`tensor ${name} is listed in ${SHARD_INDEX} but not in its shard`, { tensor: name });
  }
  return tensors;
}

function dominantDtype(tensors: Map<string, SafetensorsEntry>): FloatDtype {
  const bytes: Record<FloatDtype, number> = { F32: 0, F16: 0, BF16: 0 };
  for (const t of tensors.values()) bytes[t.dtype] += t.raw.byteLength / bytesPerElement(t.dtype);
  return (Object.keys(bytes) as FloatDtype[]).reduce((a, b) => (bytes[b] > bytes[a] ? b : a));
}

export interface CheckpointToWrite {
  config: Record<string, unknown>;
  tensors: readonly TensorToWrite[];
  tokenizer: HfTokenizer;
  generationConfig?: Record<string, unknown>;
  /** Split weights into shards of at most this many bytes (default: one model.safetensors). */
  maxShardBytes?: number;
}

/** Files a save replaces; other files already in the directory (README, LICENSE...) are kept. */
function isCheckpointFile(name: string): boolean {
  return (
    /^model.*\.safetensors(\.index\.json)?$/.test(name) ||
    /^pytorch_model.*\.bin(\.index\.json)?$/.test(name) || // stale weights would contradict the new ones
    ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"].includes(name)
  );
}

/** Writes a checkpoint that Python transformers loads; the whole directory is replaced atomically. */
export function writeCheckpoint(dir: string, checkpoint: CheckpointToWrite): void {
  replaceDirectoryAtomic(
    dir,
    (staging) => {
      const writeJson = (name: string, value: unknown) => fs.writeFileSync(path.join(staging, name), JSON.stringify(value, null, 2) + "\n");
      writeJson("config.json", checkpoint.config);
      if (checkpoint.generationConfig) writeJson("generation_config.json", checkpoint.generationConfig);
      fs.writeFileSync(path.join(staging, "tokenizer.json"), JSON.stringify(checkpoint.tokenizer.tokenizerJson));
      writeJson("tokenizer_config.json", checkpoint.tokenizer.tokenizerConfig);
      writeWeights(staging, checkpoint.tensors, checkpoint.maxShardBytes);
    },
    isCheckpointFile,
  );
}

function writeWeights(dir: string, tensors: readonly TensorToWrite[], maxShardBytes = Infinity): void {
  const shards: TensorToWrite[][] = [[]];
  let shardBytes = 0;
  for (const tensor of tensors) {
    const bytes = tensor.data.length * bytesPerElement(tensor.dtype);
    if (shardBytes > 0 && shardBytes + bytes > maxShardBytes) {
      shards.push([]);
      shardBytes = 0;
    }
    shards[shards.length - 1].push(tensor);
    shardBytes += bytes;
  }
  const metadata = { format: "pt" }; // transformers refuses safetensors without it
  if (shards.length === 1) {
    writeSafetensorsStreaming(path.join(dir, "model.safetensors"), shards[0], metadata);
    return;
  }
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  shards.forEach((shard, i) => {
    const name = `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`;
    writeSafetensorsStreaming(path.join(dir, name), shard, metadata);
    for (const tensor of shard) {
      weightMap[tensor.name] = name;
      totalSize += tensor.data.length * bytesPerElement(tensor.dtype);
    }
  });
  fs.writeFileSync(path.join(dir, SHARD_INDEX), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2) + "\n");
}

function readJsonFile(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new TokenlabError(`missing file ${file}`, { file });
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (cause) {
    throw new TokenlabError(`${file} is not valid JSON: ${(cause as Error).message}`, { file }, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TokenlabError(`${file} must hold a JSON object, got ${JSON.stringify(value)?.slice(0, 40)}`, { file });
  }
  return value as Record<string, unknown>;
}
