import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BPE, Tokenizer, byteLevelPreTokenizer } from "@anush008/tokenizers";
import { TokenlabError } from "../../lib/errors/tokenlab-error";
import type { TokenizerJson } from "../../lib/hf/tokenizer";

export interface ByteLevelBpeOptions {
  /** Rows of the final vocabulary: 256 bytes + merges + special tokens. */
  vocabSize: number;
  /** Appended after the merges, in this order (GPT-2 puts `<|endoftext|>` last, too). */
  specialTokens: string[];
}

/**
 * Trains a GPT-2 style byte-level BPE tokenizer with the Hugging Face `tokenizers` Rust trainer
 * (via @anush008/tokenizers) and returns it as a tokenizer.json object.
 *
 * The binding only exposes the trainer's defaults (30,000 tokens, alphabet = characters seen), so
 * we keep the first `vocabSize - 256 - specials` merges: BPE training is greedy, each merge depends
 * only on the ones before it, so that prefix is exactly what a vocab-limited run learns. The
 * 256-symbol byte alphabet is then complete (id = byte value), so any UTF-8 input encodes.
 */
export function trainByteLevelBpe(texts: string[], options: ByteLevelBpeOptions): TokenizerJson {
  const mergeCount = options.vocabSize - 256 - options.specialTokens.length;
  if (mergeCount <= 0) throw new TokenlabError("vocabSize leaves no room for merges", { ...options });
  const trained = trainWithRustDefaults(texts);
  const merges: Array<[string, string]> = trained.model.merges.map((merge: string | [string, string]) =>
    typeof merge === "string" ? (merge.split(" ") as [string, string]) : merge,
  );
  if (merges.length < mergeCount) {
    throw new TokenlabError("the corpus yields fewer merges than the vocabulary needs", {
      learned: merges.length,
      needed: mergeCount,
    });
  }

  const vocab: Record<string, number> = {};
  byteAlphabet().forEach((symbol, byte) => (vocab[symbol] = byte));
  const keptMerges = merges.slice(0, mergeCount);
  for (const [left, right] of keptMerges) {
    const merged = left + right;
    if (vocab[merged] !== undefined) throw new TokenlabError("BPE merge produced a duplicate token", { merged });
    vocab[merged] = Object.keys(vocab).length;
  }
  const addedTokens = options.specialTokens.map((content, index) => ({
    id: 256 + mergeCount + index,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  for (const token of addedTokens) vocab[token.content] = token.id;

  // The same pipeline GPT-2's tokenizer.json declares, so every HF implementation reads it alike.
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: keptMerges,
    },
  };
}

function trainWithRustDefaults(texts: string[]): TokenizerJson {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-bpe-"));
  try {
    const corpusFile = path.join(workDir, "corpus.txt");
    fs.writeFileSync(corpusFile, texts.join("\n"));
    const tokenizer = new Tokenizer(BPE.empty());
    tokenizer.setPreTokenizer(byteLevelPreTokenizer(false, true));
    tokenizer.train([corpusFile]);
    const trainedFile = path.join(workDir, "tokenizer.json");
    tokenizer.save(trainedFile, false);
    return JSON.parse(fs.readFileSync(trainedFile, "utf8"));
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
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
