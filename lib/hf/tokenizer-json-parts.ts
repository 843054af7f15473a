/**
 * Building blocks of Hugging Face tokenizer.json files, for code that writes tokenizers (the
 * bundled model's tokenizer, test fixtures). Field names are HF's, verbatim.
 */

/** An `added_tokens` entry for a special token, with the flags `transformers` gives special tokens. */
export function specialAddedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/**
 * GPT-2's printable stand-ins for the 256 bytes (`bytes_to_unicode`): printable Latin-1 bytes
 * stand for themselves, the rest map to U+0100 onwards in byte order (space → "Ġ", "\n" → "Ċ").
 */
export function byteAlphabet(): string[] {
  const printable = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  let next = 0x100;
  return Array.from({ length: 256 }, (_, byte) => String.fromCharCode(printable(byte) ? byte : next++));
}

export interface ByteLevelBpeParts {
  vocab: Record<string, number>;
  merges: Array<[string, string]> | string[];
  addedTokens: Array<ReturnType<typeof specialAddedToken>>;
  /** GPT-2's own files say true for the post-processor and decoder; the pre-tokenizer always false. */
  prefixSpaceAfterPreTokenizing: boolean;
}

/** A byte-level BPE tokenizer.json with GPT-2's pipeline, so every HF implementation reads it alike. */
export function byteLevelBpeTokenizerJson(parts: ByteLevelBpeParts) {
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
    type: "ByteLevel",
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: parts.addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(parts.prefixSpaceAfterPreTokenizing, !parts.prefixSpaceAfterPreTokenizing),
    decoder: byteLevel(parts.prefixSpaceAfterPreTokenizing, true),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: parts.vocab,
      merges: parts.merges,
    },
  };
}

/** tokenizer_config.json's `added_tokens_decoder`: the same entries keyed by id. */
export function addedTokensDecoder(addedTokens: ReadonlyArray<{ id: number }>): Record<string, object> {
  return Object.fromEntries(addedTokens.map(({ id, ...token }) => [String(id), token]));
}
