import * as tf from "@tensorflow/tfjs-core";
import { optionChecks } from "../errors/option-checks";
import { assertNotDisposed, type CausalLM, type WeightMap } from "../models/causal-lm";
import { AddTokensError } from "./add-tokens-error";
import { AddTokensResult, type AddedTokenInfo } from "./add-tokens-result";
import { growMatrix } from "./grow-matrix";
import { checkInitStrategy, strategySourceTexts, type InitContext, type InitStrategy } from "./init-strategies";
import { seededGaussian } from "./seeded-gaussian";
import { resolveTokenSpec, type TokenSpec } from "./token-spec";
import { planTokens, withAddedTokens, type OnExisting } from "./tokenizer-edit";

export interface AddTokensOptions {
  /** Strategy for tokens whose spec has no `init` (default "mean"). */
  init?: InitStrategy;
  /** Round the number of embedding rows up to a multiple of this (e.g. 64); extra rows are padding, not tokens. */
  padToMultipleOf?: number;
  /** Seed of every random draw (random, mvn-mean, noisy-mean, describe+noise). Default 0. */
  seed?: number;
  /** A token that is already in the vocabulary: "skip" (default, reported), "error" or "reuse". */
  onExisting?: OnExisting;
}

/**
 * Adds tokens to a model: a NEW CausalLM whose tokenizer knows them (tokenizer.json `added_tokens`
 * and tokenizer_config.json `added_tokens_decoder`, as transformers saves them), whose embedding —
 * and untied output head, from its own rows — has their rows initialized, and whose config has the
 * new `vocab_size`. The base model is untouched; every other weight tensor is shared with it (so
 * dispose the variant with `model.dispose([base.weights])`). New ids follow the highest existing id;
 * they may take over old padding rows; the embedding never shrinks.
 *
 * Throws AddTokensError (nothing changed) on empty content, a token requested twice, an existing
 * token with onExisting "error", an init source text that is itself one of the new tokens, or a
 * strategy that fails.
 */
export function addTokens(model: CausalLM, specs: TokenSpec | TokenSpec[], options: AddTokensOptions = {}): AddTokensResult {
  assertNotDisposed(model, "addTokens");
  const checks = optionChecks(AddTokensError, "addTokens option");
  checks.knownKeys(options, ["init", "padToMultipleOf", "seed", "onExisting"]);
  checks.oneOf("onExisting", options.onExisting, ["skip", "error", "reuse"] satisfies OnExisting[]);
  checks.number("padToMultipleOf", options.padToMultipleOf, { integer: true, min: 1 });
  checks.number("seed", options.seed, { integer: true });
  checkInitStrategy(checks, "init", options.init);
  const resolved = (Array.isArray(specs) ? specs : [specs]).map(resolveTokenSpec);
  const defaultInit = options.init ?? "mean";
  const contents = new Set(resolved.map((spec) => spec.content));
  for (const spec of resolved) {
    for (const text of strategySourceTexts(spec.init ?? defaultInit)) {
      if (contents.has(text)) {
        throw new AddTokensError(
          `init source ${JSON.stringify(text)} of ${JSON.stringify(spec.content)} is itself a token being added; it has no trained row to start from`,
          { token: spec.content, source: text },
        );
      }
    }
  }
  const plan = planTokens(model.tokenizer, resolved, options.onExisting ?? "skip");
  const base = model.tokenizer;
  const oldRows = weight(model, model.layout.embedding).shape[0];
  const firstNewId = base.size;
  if (firstNewId > oldRows) {
    throw new AddTokensError(`the tokenizer knows ${firstNewId} ids but the embedding has only ${oldRows} rows`, { rows: oldRows });
  }
  // Either may be kept 16-bit (loadModel keepBf16); strategies read it in place and it grows packed.
  const embedding = weight(model, model.layout.embedding);
  const head = model.layout.head === null ? null : weight(model, model.layout.head);
  const newTokens = plan.tokens.filter((token) => token.kind === "new");
  const rows = roundUp(Math.max(oldRows, firstNewId + newTokens.length), options.padToMultipleOf);

  const seed = options.seed ?? 0;
  const strategies = newTokens.map((token) => ({ token, strategy: token.spec.init ?? defaultInit }));
  const contextFor = (matrix: tf.Tensor2D, role: "input" | "output", seedOffset: number): InitContext => ({
    matrix,
    role,
    embedding,
    head,
    tokenRows: firstNewId,
    baseTokenizer: base,
    initializerRange: model.config.initializerRange,
    normal: seededGaussian(seed * 2 + seedOffset),
  });
  const grown: tf.Tensor[] = [];
  try {
    const weights = new Map<string, tf.Tensor>(model.weights);
    // Only reused/skipped tokens and no padding change: the matrices stay shared too.
    if (newTokens.length > 0 || rows !== oldRows) {
      const newEmbedding = growMatrix(contextFor(embedding, "input", 0), strategies, firstNewId, rows);
      grown.push(newEmbedding);
      weights.set(model.layout.embedding, newEmbedding);
      if (head !== null && model.layout.head !== null) {
        const newHead = growMatrix(contextFor(head, "output", 1), strategies, firstNewId, rows);
        grown.push(newHead);
        weights.set(model.layout.head, newHead);
      }
    }
    const tokenizer = withAddedTokens(base, plan.tokens);
    const config = { ...model.config, vocabSize: rows, raw: { ...model.config.raw, vocab_size: rows } };
    const extended = model.withChanges({ weights: weights as WeightMap, config, tokenizer });
    const tokens: AddedTokenInfo[] = plan.tokens.map((token) => ({
      content: token.content,
      id: token.id,
      flags: token.flags,
      kind: token.kind,
      init: token.kind === "new" ? token.spec.init ?? defaultInit : null,
    }));
    return new AddTokensResult(model, extended, tokens, plan.skipped, options);
  } catch (error) {
    tf.dispose(grown);
    throw error;
  }
}

function weight(model: CausalLM, name: string): tf.Tensor2D {
  const tensor = model.weights.get(name);
  if (!tensor || tensor.rank !== 2) throw new AddTokensError(`model has no 2-D weight ${name}`, { tensor: name });
  return tensor as tf.Tensor2D;
}

function roundUp(rows: number, multiple: number | undefined): number {
  return multiple === undefined ? rows : Math.ceil(rows / multiple) * multiple;
}
