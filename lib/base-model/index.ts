import { loadModel } from "../models/load-model";
import type { TransformerLM } from "../models/transformer-lm";
import { baseModelDir } from "./location";

export { baseModelDir };

/** Loads the bundled base model (a tiny Llama trained on the Brown corpus). The caller disposes it. */
export function loadBaseModel(): Promise<TransformerLM> {
  return loadModel(baseModelDir());
}
