import { TokenlabError } from "../errors/tokenlab-error";
import type { ModelConfig } from "./model-config";

/** Where a family finds each ModelConfig field in config.json, and its defaults. */
export interface ConfigKeys {
  vocabSize: string;
  hiddenSize: string;
  numLayers: string;
  numHeads: string;
  numKeyValueHeads?: string;
  headDim?: string;
  intermediateSize: string;
  maxPositionEmbeddings: string;
  /** Positions come from a learned table of maxPositionEmbeddings rows (a hard limit on length). */
  learnedPositions?: boolean;
  /** transformers' default for tie_word_embeddings differs by family. */
  tieDefault: boolean;
  /** intermediate size when the key is absent or null, from the hidden size. */
  intermediateDefault?: (hidden: number) => number;
}

export function parseModelConfig(raw: Record<string, unknown>, architecture: string, keys: ConfigKeys): ModelConfig {
  const need = (key: string): number => {
    const value = raw[key];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new TokenlabError(`config.json: ${key} is missing or not a number`, { key, value, architecture });
    }
    return value;
  };
  const hiddenSize = need(keys.hiddenSize);
  const numHeads = need(keys.numHeads);
  const maxPositionEmbeddings = need(keys.maxPositionEmbeddings);
  const optional = (key: string | undefined, fallback: number) =>
    key !== undefined && raw[key] !== undefined && raw[key] !== null ? need(key) : fallback;
  const headDim = optional(keys.headDim, hiddenSize / numHeads);
  if (!Number.isInteger(headDim)) throw new TokenlabError(`config.json: hidden size ${hiddenSize} is not divisible by ${numHeads} heads`, { architecture });
  return {
    architecture,
    vocabSize: need(keys.vocabSize),
    hiddenSize,
    numLayers: need(keys.numLayers),
    numHeads,
    numKeyValueHeads: optional(keys.numKeyValueHeads, numHeads),
    headDim,
    intermediateSize: optional(keys.intermediateSize, keys.intermediateDefault?.(hiddenSize) ?? NaN),
    maxPositionEmbeddings,
    positionLimit: keys.learnedPositions ? { length: maxPositionEmbeddings, key: keys.maxPositionEmbeddings } : null,
    tieWordEmbeddings: typeof raw.tie_word_embeddings === "boolean" ? raw.tie_word_embeddings : keys.tieDefault,
    initializerRange: typeof raw.initializer_range === "number" ? raw.initializer_range : 0.02,
    raw,
  };
}
