import * as tf from "@tensorflow/tfjs-core";
import { optionChecks } from "../errors/option-checks";
import { assertNotDisposed, type CausalLM } from "../models/causal-lm";
import { mergeOverlays, type RowOverlay } from "../models/layers/embedding";
import { materializedWeights, vocabRows } from "../models/model-rows";
import { AddTokensError } from "./add-tokens-error";
import { AddTokensResult, type AddedTokenInfo } from "./add-tokens-result";
import { addedRows } from "./added-rows";
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
 * new `vocab_size`. The base model is untouched; every weight tensor is shared with it, the
 * embedding and head too: the new rows are the extended model's overlays (CausalLM.overlays), so
 * adding k rows costs O(k·hidden), not a copy of the vocab-sized matrices. Dispose the variant with
 * `model.dispose([base.weights])`. New ids follow the highest existing id; they may take over old
 * padding rows; the embedding never shrinks.
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
  const oldRows = vocabRows(model);
  const firstNewId = base.size;
  if (firstNewId > oldRows) {
    throw new AddTokensError(`the tokenizer knows ${firstNewId} ids but the embedding has only ${oldRows} rows`, { rows: oldRows });
  }
  weight(model, model.layout.embedding);
  if (model.layout.head !== null) weight(model, model.layout.head);
  const newTokens = plan.tokens.filter((token) => token.kind === "new");
  const rows = roundUp(Math.max(oldRows, firstNewId + newTokens.length), options.padToMultipleOf);

  const seed = options.seed ?? 0;
  const strategies = newTokens.map((token) => ({ token, strategy: token.spec.init ?? defaultInit }));
  // Strategies read whole matrices; a model that already has added rows is read built whole (one copy).
  const readable = model.overlays.size > 0 ? materializedWeights(model) : { weights: model.weights, owned: [] };
  // Either may be kept 16-bit (loadModel keepBf16); strategies read it in place.
  const embedding = readable.weights.get(model.layout.embedding) as tf.Tensor2D;
  const head = model.layout.head === null ? null : (readable.weights.get(model.layout.head) as tf.Tensor2D);
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
  const overlays = new Map<string, RowOverlay>();
  try {
    // Only reused/skipped tokens and no padding change: no new rows.
    if (newTokens.length > 0 || rows !== oldRows) {
      const grow = (name: string, matrix: tf.Tensor2D, role: "input" | "output", seedOffset: number) => {
        const added = addedRows(contextFor(matrix, role, seedOffset), strategies, firstNewId, oldRows, rows);
        const own = model.overlays.get(name);
        overlays.set(name, own ? mergedOverlay(own, added) : added);
      };
      grow(model.layout.embedding, embedding, "input", 0);
      if (head !== null && model.layout.head !== null) grow(model.layout.head, head, "output", 1);
    }
    const tokenizer = withAddedTokens(base, plan.tokens);
    const config = { ...model.config, vocabSize: rows, raw: { ...model.config.raw, vocab_size: rows } };
    const extended = model.withChanges({ overlays, config, tokenizer });
    const tokens: AddedTokenInfo[] = plan.tokens.map((token) => ({
      content: token.content,
      id: token.id,
      flags: token.flags,
      kind: token.kind,
      init: token.kind === "new" ? token.spec.init ?? defaultInit : null,
    }));
    return new AddTokensResult(model, extended, tokens, plan.skipped, options);
  } catch (error) {
    tf.dispose([...overlays.values()].map((overlay) => overlay.rows));
    throw error;
  } finally {
    tf.dispose(readable.owned);
  }
}

/** `added` over `own` as one overlay; `added`'s rows are freed when the merge made new ones. */
function mergedOverlay(own: RowOverlay, added: RowOverlay): RowOverlay {
  let ids: readonly number[] = added.ids;
  const rows = tf.tidy(() => {
    const merged = mergeOverlays(own, added);
    ids = merged.ids;
    return merged.rows;
  });
  if (rows !== added.rows) added.rows.dispose();
  return { ids, rows };
}

function weight(model: CausalLM, name: string): tf.Tensor2D {
  const tensor = model.weights.get(name);
  if (!tensor || tensor.rank !== 2) throw new AddTokensError(`model has no 2-D weight ${name}`, { tensor: name });
  return tensor as tf.Tensor2D;
}

function roundUp(rows: number, multiple: number | undefined): number {
  return multiple === undefined ? rows : Math.ceil(rows / multiple) * multiple;
}
