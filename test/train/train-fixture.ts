/**
 * A tiny random Llama checkpoint (real model core) and chat data in which two of its special tokens
 * play the "new tokens" (<|im_start|>, <|im_end|>: every conversation uses them). Cleans up after itself.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CausalLM } from "../../lib/models/causal-lm";
import { loadModel } from "../../lib/models/load-model";
import { prepareData, type TrainingData } from "../../lib/data/prepare-data";
import { writeTinyCheckpoint, type TinyCheckpointOptions } from "../fixtures/tiny-checkpoint";
import { materializedMatrix, modelTensors } from "../../lib/models/model-rows";

export interface TrainFixture {
  model: CausalLM & { dispose(keep?: Iterable<ReadonlyMap<string, unknown>>): void };
  newIds: number[];
  data: TrainingData;
  cleanup(): void;
}

export async function trainFixture(options: TinyCheckpointOptions = {}): Promise<TrainFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-train-"));
  writeTinyCheckpoint(dir, { tied: false, ...options });
  const model = await loadModel(dir);
  const newIds = ["<|im_start|>", "<|im_end|>"].map((t) => model.tokenizer.tokenToId(t)!);
  const examples = Array.from({ length: 30 }, (_, i) => ({
    messages: [
      { role: "user", content: `where is the fox ${i % 7}?` },
      { role: "assistant", content: `the fox sat with the dog ${i % 3}.` },
    ],
  }));
  const data = prepareData(model.tokenizer, examples, { seqLen: 24, evalFraction: 0.2, seed: 1 });
  return {
    model: model as TrainFixture["model"],
    newIds,
    data,
    cleanup: () => {
      model.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Disposes the tensors of result models that the base does not share. */
export function disposeModels(base: CausalLM, ...models: Array<CausalLM | undefined>): void {
  const shared = new Set(modelTensors(base));
  const seen = new Set<unknown>();
  for (const model of models) {
    for (const tensor of model ? modelTensors(model) : []) {
      if (shared.has(tensor) || seen.has(tensor)) continue;
      seen.add(tensor);
      tensor.dispose();
    }
  }
}

/** Bytes of `model`'s tensor `name` as the model computes with it: added rows (CausalLM.overlays) in place. */
export function wholeBytes(model: CausalLM, name: string): Buffer {
  const whole = materializedMatrix(model, name);
  try {
    return Buffer.from(bytesOf(whole)); // a copy: the tensor is freed here
  } finally {
    whole.dispose();
  }
}

/** Bytes of a tensor's values (for bit-identity checks). */
export function bytesOf(tensor: { dataSync(): ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number } }): Buffer {
  const data = tensor.dataSync();
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
