/**
 * Encoding that follows the Rust `tokenizers` library (what Python uses) where the JS tokenizer of
 * @huggingface/tokenizers deviates: added tokens are extracted the way Rust's AddedVocabulary
 * does — leftmost-longest matches, `single_word` honoured (JS ignores it), `lstrip` / `rstrip`
 * absorbing whitespace, non-normalized tokens matched on the raw text and normalized ones on the
 * normalized text — and Metaspace's prepend_scheme "first" only applies to text that starts the
 * input (JS also prepends "▁" after a normalized added token). The normalizer, pre-tokenizer,
 * model and post-processor themselves are the JS tokenizer's. HfTokenizer.encode uses this.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { parseAddedTokens, type AddedTokenFlags } from "./added-tokens";
import type { TokenizerConfigJson, TokenizerJson } from "./tokenizer";
import { appendAll } from "../runtime/large-arrays";

interface Pattern {
  id: number;
  flags: AddedTokenFlags;
}

interface Trie {
  next: Map<string, Trie>;
  pattern?: Pattern;
}

interface Piece {
  id: number;
  token: string;
}

interface Split {
  start: number;
  end: number;
  id?: number;
}

// Rust regex `\w` and `\s` are Unicode-aware.
const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const WHITESPACE = /\p{White_Space}/u;

export class RustCompatibleEncoder {
  private readonly rawTrie: Trie = { next: new Map() };
  private readonly normalizedTrie: Trie = { next: new Map() };

  private readonly contents = new Map<number, string>();
  private readonly idsByContent = new Map<string, number>();

  /**
   * The JS components an encoder runs, built without added tokens: extraction is done here, the Rust
   * way, and the model must not know them (JS would put them into the model vocab, which e.g. BPE's
   * ignore_merges consults; Rust keeps them out of it). Added tokens never change it, so tokenizers
   * that differ only in added tokens share one (parsing a 150k vocab and its merges takes ~1 s).
   */
  static core(tokenizerJson: Readonly<TokenizerJson>, tokenizerConfig: Readonly<TokenizerConfigJson>): Tokenizer {
    return new Tokenizer({ ...tokenizerJson, added_tokens: [] }, tokenizerConfig);
  }

  constructor(
    tokenizerJson: Readonly<TokenizerJson>,
    private readonly core: Tokenizer,
  ) {
    for (const [id, { content, flags }] of parseAddedTokens(tokenizerJson)) {
      this.contents.set(id, content);
      this.idsByContent.set(content, id);
      if (flags.normalized) insert(this.normalizedTrie, this.normalize(content), { id, flags });
      else insert(this.rawTrie, content, { id, flags });
    }
  }

  /**
   * Token ids of `text` as the Rust library computes them. `addSpecialTokens` runs the
   * tokenizer's post-processor (e.g. a BOS token), as `encode(..., add_special_tokens=True)` does.
   */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    const pieces: Piece[] = [];
    for (const outer of findMatches(text, this.rawTrie)) {
      if (outer.id !== undefined) {
        pieces.push({ id: outer.id, token: this.contents.get(outer.id)! });
        continue;
      }
      const normalized = this.normalize(text.slice(outer.start, outer.end));
      for (const inner of findMatches(normalized, this.normalizedTrie)) {
        if (inner.id !== undefined) pieces.push({ id: inner.id, token: this.contents.get(inner.id)! });
        else appendAll(pieces, this.encodePlain(normalized.slice(inner.start, inner.end), outer.start === 0 && inner.start === 0));
      }
    }
    if (!options.addSpecialTokens || !this.core.post_processor) return pieces.map((p) => p.id);
    // The post-processor works on token strings; the original pieces keep their ids, inserted ones are looked up.
    const processed = this.core.post_processor._call(pieces.map((p) => p.token), null, true).tokens;
    const ids: number[] = [];
    let next = 0;
    for (const token of processed) {
      if (next < pieces.length && pieces[next].token === token) ids.push(pieces[next++].id);
      else ids.push(this.idOf(token));
    }
    return ids;
  }

  private encodePlain(text: string, startsInput: boolean): Piece[] {
    if (text.length === 0) return [];
    // section_index 0 is how the JS Metaspace pre-tokenizer learns that this text starts the input.
    const words = this.core.pre_tokenizer ? this.core.pre_tokenizer._call(text, { section_index: startsInput ? 0 : 1 }) : [text];
    return this.core.model!._call(words).map((token: string) => ({ id: this.idOf(token), token }));
  }

  private idOf(token: string): number {
    const model = this.core.model!;
    return this.idsByContent.get(token) ?? model.tokens_to_ids.get(token) ?? model.unk_token_id!;
  }

  private normalize(text: string): string {
    return this.core.normalizer ? this.core.normalizer._call(text) : text;
  }
}

function insert(trie: Trie, content: string, pattern: Pattern): void {
  let node = trie;
  for (const char of content) {
    if (!node.next.has(char)) node.next.set(char, { next: new Map() });
    node = node.next.get(char)!;
  }
  node.pattern = pattern;
}

/**
 * Rust's AddedVocabulary::find_matches: non-overlapping leftmost-longest matches; a `single_word`
 * match touching a word character is dropped (scanning resumes after it); lstrip/rstrip widen
 * the match over adjacent whitespace not already taken. The splits cover the whole sentence.
 */
function findMatches(sentence: string, trie: Trie): Split[] {
  if (sentence.length === 0) return [];
  const chars = [...sentence];
  const offsets: number[] = [0];
  for (const char of chars) offsets.push(offsets[offsets.length - 1] + char.length);
  const splits: Split[] = [];
  let taken = 0; // char index up to which the sentence is split
  let i = 0;
  while (i < chars.length) {
    let node: Trie | undefined = trie;
    let match: { end: number; pattern: Pattern } | undefined;
    for (let j = i; j < chars.length && (node = node.next.get(chars[j])); j++) {
      if (node.pattern) match = { end: j + 1, pattern: node.pattern };
    }
    if (!match) {
      i++;
      continue;
    }
    let start = i;
    let stop = match.end;
    i = match.end;
    const { flags, id } = match.pattern;
    if (flags.singleWord) {
      const wordBefore = start > 0 && WORD_CHAR.test(chars[start - 1]);
      const wordAfter = stop < chars.length && WORD_CHAR.test(chars[stop]);
      if (wordBefore || wordAfter) continue;
    }
    if (flags.lstrip) {
      while (start > taken && WHITESPACE.test(chars[start - 1])) start--;
    }
    if (flags.rstrip) {
      // Scanning still resumes at the match end, as Rust's aho-corasick iterator does.
      while (stop < chars.length && WHITESPACE.test(chars[stop])) stop++;
    }
    if (taken < start) splits.push({ start: offsets[taken], end: offsets[start] });
    splits.push({ start: offsets[start], end: offsets[stop], id });
    taken = stop;
  }
  if (taken < chars.length) splits.push({ start: offsets[taken], end: offsets[chars.length] });
  return splits;
}
