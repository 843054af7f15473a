import { TokenlabError } from "../errors/tokenlab-error";
import { GPT2 } from "./gpt2/gpt2-family";
import { LLAMA, MISTRAL, QWEN2, QWEN3, llamaFamily } from "./llama/llama-family";
import type { ModelFamily } from "./model-family";

/** Hugging Face architecture name (config.json `architectures[0]`) → the family that runs it. */
const ARCHITECTURES: ReadonlyMap<string, ModelFamily> = new Map([
  ["LlamaForCausalLM", llamaFamily(LLAMA)],
  ["MistralForCausalLM", llamaFamily(MISTRAL)],
  ["Qwen2ForCausalLM", llamaFamily(QWEN2)],
  ["Qwen3ForCausalLM", llamaFamily(QWEN3)],
  ["GPT2LMHeadModel", GPT2],
]);

export const SUPPORTED_ARCHITECTURES: readonly string[] = [...ARCHITECTURES.keys()];

export function familyFor(architecture: string): ModelFamily {
  const family = ARCHITECTURES.get(architecture);
  if (!family) {
    throw new TokenlabError(`unsupported architecture "${architecture}" (supported: ${SUPPORTED_ARCHITECTURES.join(", ")})`, {
      architecture,
    });
  }
  return family;
}

/** The architecture a config.json declares. */
export function architectureOf(raw: Record<string, unknown>): string {
  const list = raw.architectures;
  if (!Array.isArray(list) || typeof list[0] !== "string") {
    throw new TokenlabError("config.json has no `architectures` list naming the model class", { architectures: list });
  }
  return list[0];
}
