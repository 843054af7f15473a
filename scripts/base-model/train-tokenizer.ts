import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BPE, Tokenizer, byteLevelPreTokenizer } from "@anush008/tokenizers";
import { TokenlabError } from "../../lib/errors/tokenlab-error";
import type { TokenizerJson } from "../../lib/hf/tokenizer";
import { byteAlphabet, byteLevelBpeTokenizerJson, specialAddedToken } from "../../lib/hf/tokenizer-json-parts";

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
  const addedTokens = options.specialTokens.map((content, index) => specialAddedToken(256 + mergeCount + index, content));
  for (const token of addedTokens) vocab[token.content] = token.id;
  return byteLevelBpeTokenizerJson({ vocab, merges: keptMerges, addedTokens, prefixSpaceAfterPreTokenizing: true });
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
