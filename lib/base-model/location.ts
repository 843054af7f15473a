import * as path from "node:path";

/**
 * The directory of the bundled base model: a Hugging Face checkpoint (config.json,
 * model.safetensors, tokenizer files, README.md model card) made by `npm run pretrain-base`.
 * Kept apart from index.ts so that loadModel can default to it without an import cycle.
 */
export function baseModelDir(): string {
  return path.join(__dirname, "checkpoint");
}
