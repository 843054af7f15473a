import type { HfTokenizer } from "../hf/tokenizer";
import { AddTokensError } from "./add-tokens-error";
import type { AddedTokenFlags, ResolvedTokenSpec } from "./token-spec";

/** What to do with a token whose content is already in the vocabulary (model vocab or added tokens). */
export type OnExisting =
  /** Leave it as it is and report it (default). */
  | "skip"
  /** Throw; nothing is changed. */
  | "error"
  /**
   * Register it as an added token with its EXISTING id and the given flags, as `tokenizers`
   * `add_tokens` does: it is then split off whole before the model sees the text. No new row.
   */
  | "reuse";

export interface PlannedToken {
  content: string;
  id: number;
  flags: AddedTokenFlags;
  /** "new": a new id (and embedding row); "reuse": an existing id registered as an added token. */
  kind: "new" | "reuse";
  spec: ResolvedTokenSpec;
}

export interface TokenPlan {
  tokens: PlannedToken[];
  /** Tokens left out because they exist (onExisting "skip"), with their existing ids. */
  skipped: Array<{ content: string; id: number }>;
}

/**
 * Decides the id of every requested token. New ids start right after the highest id the tokenizer
 * knows (model vocab and added tokens alike) and follow the order of `specs` — exactly the ids the
 * `tokenizers` library assigns, never "the last n rows" of a matrix.
 */
export function planTokens(tokenizer: HfTokenizer, specs: ResolvedTokenSpec[], onExisting: OnExisting = "skip"): TokenPlan {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.content)) {
      throw new AddTokensError(`token ${JSON.stringify(spec.content)} is requested twice in one call`, { content: spec.content });
    }
    seen.add(spec.content);
  }
  let nextId = tokenizer.size;
  const plan: TokenPlan = { tokens: [], skipped: [] };
  for (const spec of specs) {
    const existingId = tokenizer.tokenToId(spec.content);
    if (existingId === undefined) {
      plan.tokens.push({ content: spec.content, id: nextId++, flags: spec.flags, kind: "new", spec });
    } else if (onExisting === "error") {
      throw new AddTokensError(`token ${JSON.stringify(spec.content)} is already in the vocabulary (id ${existingId})`, {
        content: spec.content,
        id: existingId,
      });
    } else if (onExisting === "reuse") {
      plan.tokens.push({ content: spec.content, id: existingId, flags: spec.flags, kind: "reuse", spec });
    } else {
      plan.skipped.push({ content: spec.content, id: existingId });
    }
  }
  return plan;
}

/** The tokenizer.json `added_tokens` entry, keys in the order `tokenizers` writes them. */
export function addedTokenEntry(id: number, content: string, flags: AddedTokenFlags): Record<string, unknown> {
  return {
    id,
    content,
    single_word: flags.singleWord,
    lstrip: flags.lstrip,
    rstrip: flags.rstrip,
    normalized: flags.normalized,
    special: flags.special,
  };
}

/**
 * A new tokenizer with `tokens` registered the way `transformers` saves them: tokenizer.json
 * `added_tokens` (sorted by id; an entry with the same id is replaced) and tokenizer_config.json
 * `added_tokens_decoder`. The model vocab and merges are shared with `base`, never edited.
 */
export function withAddedTokens(
  base: HfTokenizer,
  tokens: ReadonlyArray<{ content: string; id: number; flags: AddedTokenFlags }>,
): HfTokenizer {
  const byId = new Map<number, Record<string, unknown>>();
  for (const entry of (base.tokenizerJson.added_tokens ?? []) as Array<Record<string, unknown>>) {
    byId.set(entry.id as number, entry);
  }
  for (const token of tokens) byId.set(token.id, addedTokenEntry(token.id, token.content, token.flags));
  const addedTokens = [...byId.values()].sort((a, b) => (a.id as number) - (b.id as number));

  const decoder: Record<string, unknown> = { ...(base.tokenizerConfig.added_tokens_decoder ?? {}) };
  for (const token of tokens) {
    // transformers writes AddedToken.__getstate__: content, lstrip, normalized, rstrip, single_word, special.
    decoder[String(token.id)] = {
      content: token.content,
      lstrip: token.flags.lstrip,
      normalized: token.flags.normalized,
      rstrip: token.flags.rstrip,
      single_word: token.flags.singleWord,
      special: token.flags.special,
    };
  }
  const sortedDecoder = Object.fromEntries(Object.entries(decoder).sort(([a], [b]) => Number(a) - Number(b)));
  return base.withAddedTokens(addedTokens, sortedDecoder);
}
