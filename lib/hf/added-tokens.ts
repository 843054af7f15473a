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

export interface AddedTokenEntry {
  content: string;
  flags: AddedTokenFlags;
}

/** The tokens tokenizer.json `added_tokens` records, keyed by id, with the defaults of `tokenizers` for missing flags. */
export function parseAddedTokens(tokenizerJson: Readonly<Record<string, any>>): Map<number, AddedTokenEntry> {
  const result = new Map<number, AddedTokenEntry>();
  for (const entry of (tokenizerJson.added_tokens ?? []) as Array<Record<string, any>>) {
    const special = entry.special ?? false;
    result.set(entry.id, {
      content: entry.content,
      flags: {
        special,
        lstrip: entry.lstrip ?? false,
        rstrip: entry.rstrip ?? false,
        singleWord: entry.single_word ?? false,
        normalized: entry.normalized ?? !special,
      },
    });
  }
  return result;
}
