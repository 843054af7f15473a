/**
 * The flags of a Hugging Face AddedToken (tokenizers `AddedToken`), camelCased:
 * - special: skipped by `decode(..., skipSpecialTokens)`; never split by the normalizer's output
 * - lstrip / rstrip: the token absorbs the whitespace on its left / right
 * - singleWord: the token only matches when it is not inside a word
 * - normalized: matched on the normalized text instead of the raw text
 */
export interface AddedTokenFlags {
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
}

/** Flags with the defaults of `tokenizers` and `transformers` for those not given: `normalized` is true unless the token is special. */
export function withDefaultFlags(given: Partial<AddedTokenFlags>): AddedTokenFlags {
  const special = given.special ?? false;
  return {
    special,
    lstrip: given.lstrip ?? false,
    rstrip: given.rstrip ?? false,
    singleWord: given.singleWord ?? false,
    normalized: given.normalized ?? !special,
  };
}

export interface AddedTokenEntry {
  content: string;
  flags: AddedTokenFlags;
}

/** The tokens tokenizer.json `added_tokens` records, keyed by id, with the defaults of `tokenizers` for missing flags. */
export function parseAddedTokens(tokenizerJson: Readonly<Record<string, any>>): Map<number, AddedTokenEntry> {
  const result = new Map<number, AddedTokenEntry>();
  for (const entry of (tokenizerJson.added_tokens ?? []) as Array<Record<string, any>>) {
    const { special, lstrip, rstrip, single_word: singleWord, normalized } = entry;
    result.set(entry.id, { content: entry.content, flags: withDefaultFlags({ special, lstrip, rstrip, singleWord, normalized }) });
  }
  return result;
}
