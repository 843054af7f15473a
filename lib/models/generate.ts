import * as tf from "@tensorflow/tfjs-core";
import type { HfTokenizer } from "../hf/tokenizer";
import { notebookHost } from "../runtime/notebook-host";
import type { GenerateOptions, WeightMap } from "./causal-lm";
import type { RowOverlays } from "./layers/embedding";
import type { KvCache, ModelFamily } from "./model-family";
import type { ModelConfig } from "./model-config";
import { seededRandom } from "../random/seeded-random";
import { TokenlabError } from "../errors/tokenlab-error";
import { maxOf, minOf } from "../runtime/large-arrays";

export interface GenerationContext {
  family: ModelFamily;
  config: ModelConfig;
  weights: WeightMap;
  overlays: RowOverlays;
  tokenizer: HfTokenizer;
  /** Token ids that end generation (eos from the tokenizer and generation_config.json). */
  eosIds: ReadonlySet<number>;
}

/**
 * Decodes up to maxNewTokens after `promptIds`, feeding only the newest token once the prompt is
 * in the KV cache. Greedy when temperature is 0 (the default); otherwise samples from the top-k
 * of softmax(logits / temperature) with a seeded generator, so equal seeds give equal outputs.
 * Padding rows (ids the tokenizer cannot decode) are never chosen. An aborted signal (by default
 * the notebook cell's interrupt) ends generation between tokens with what was generated so far.
 * Generation also ends when prompt + generated tokens fill the context (max_position_embeddings);
 * a prompt that already fills it is an error, not a silent "" (the caller must choose what to cut).
 */
export async function generateIds(
  context: GenerationContext,
  promptIds: readonly number[],
  options: GenerateOptions = {},
): Promise<{ ids: number[]; text: string }> {
  const { family, config, weights, overlays, tokenizer } = context;
  const contextLength = config.maxPositionEmbeddings;
  if (promptIds.length >= contextLength) {
    throw new TokenlabError(
      `the prompt has ${promptIds.length} tokens but the model's context holds ${contextLength} positions ` +
        `(max_position_embeddings), leaving no room for a new token: shorten the prompt to at most ${contextLength - 1} tokens`,
      { promptTokens: promptIds.length, maxPositionEmbeddings: contextLength },
    );
  }
  const maxNewTokens = options.maxNewTokens ?? 32;
  const temperature = options.temperature ?? 0;
  const random = seededRandom(options.seed ?? 0);
  const stopIds = new Set([...context.eosIds, ...(options.stop ?? []).filter((s): s is number => typeof s === "number")]);
  const stopStrings = (options.stop ?? []).filter((s): s is string => typeof s === "string");
  const signal = options.signal ?? notebookHost()?.signal;
  const generated: number[] = [];
  let cache: KvCache | undefined;
  let feed = [...promptIds];
  try {
    while (generated.length < maxNewTokens && promptIds.length + generated.length < contextLength && !signal?.aborted) {
      const step = tf.tidy(() => {
        const { logits, cache: next } = family.run(config, weights, tf.tensor2d([feed], [1, feed.length], "int32"), { cache, overlays });
        // Rows of the head actually present (config.vocabSize may lag behind added tokens), minus
        // padding rows the tokenizer cannot produce.
        const choosable = Math.min(tokenizer.size, logits.shape[2]);
        const last = tf.slice(logits, [0, feed.length - 1, 0], [1, 1, choosable]);
        return { last: tf.reshape(last, [choosable]), next };
      });
      disposeCache(cache);
      cache = step.next;
      const scores = step.last.dataSync() as Float32Array;
      step.last.dispose();
      await new Promise((resolve) => setImmediate(resolve)); // let I/O (e.g. a kernel interrupt) run between tokens
      const id = temperature === 0 ? argMax(scores) : sample(scores, temperature, options.topK ?? 0, random);
      if (stopIds.has(id)) break;
      generated.push(id);
      feed = [id];
      if (stopStrings.length > 0) {
        const text = tokenizer.decode(generated);
        const cut = firstStop(text, stopStrings);
        if (cut !== undefined) return { ids: generated, text: text.slice(0, cut) };
      }
    }
  } finally {
    disposeCache(cache);
  }
  return { ids: generated, text: tokenizer.decode(generated) };
}

function disposeCache(cache: KvCache | undefined): void {
  for (const entry of cache ?? []) tf.dispose([entry.key, entry.value]);
}

function firstStop(text: string, stops: string[]): number | undefined {
  const positions = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
  return positions.length > 0 ? minOf(positions) : undefined;
}

function argMax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function sample(logits: Float32Array, temperature: number, topK: number, random: () => number): number {
  let candidates = Array.from(logits.keys());
  if (topK > 0 && topK < candidates.length) candidates = candidates.sort((a, b) => logits[b] - logits[a]).slice(0, topK);
  const max = maxOf(candidates.map((i) => logits[i]));
  const weights = candidates.map((i) => Math.exp((logits[i] - max) / temperature));
  let threshold = random() * weights.reduce((a, b) => a + b, 0);
  for (let j = 0; j < candidates.length; j++) {
    threshold -= weights[j];
    if (threshold <= 0) return candidates[j];
  }
  return candidates[candidates.length - 1];
}
