import * as path from "node:path";

/** The directory of the bundled base model (a Hugging Face checkpoint: config.json, model.safetensors, tokenizer files). */
export function baseModelDir(): string {
  return path.join(__dirname, "checkpoint");
}
