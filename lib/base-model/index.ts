import * as path from "node:path";
import { loadModel } from "../models/load-model";
import type { TransformerLM } from "../models/transformer-lm";

/**
 * The directory of the bundled base model: a Hugging Face checkpoint (config.json,
 * model.safetensors, tokenizer files, README.md model card) made by `npm run pretrain-base`.
 */
export function baseModelDir(): string {
  return path.join(__dirname, "checkpoint");
}

/** Loads the bundled base model (a tiny Llama trained on the Brown corpus). The caller disposes it. */
export function loadBaseModel(): Promise<TransformerLM> {
  return loadModel(baseModelDir());
}
