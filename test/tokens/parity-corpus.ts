/**
 * Tokens and texts for the tokenizer parity tests: one bracket-like and one word-like token per
 * combination of the five AddedToken flags, and texts that put each token next to itself, inside
 * words, around spaces, tabs and newlines, repeated, and in un-normalized spellings (decomposed
 * accents, full-width brackets) so the `normalized` flag matters.
 */
import type { TokenSpecObject } from "../../lib/tokens/token-spec";

export interface FlagCombo {
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
}

export const FLAG_COMBOS: FlagCombo[] = Array.from({ length: 32 }, (_, mask) => ({
  special: (mask & 1) !== 0,
  lstrip: (mask & 2) !== 0,
  rstrip: (mask & 4) !== 0,
  singleWord: (mask & 8) !== 0,
  normalized: (mask & 16) !== 0,
}));

/** Two tokens per flag combination: `<é7>` (bracket-like, composed é) and `tokah` (letters only). */
export function parityTokens(): TokenSpecObject[] {
  return FLAG_COMBOS.flatMap((flags, i) => [
    { content: `<é${i}>`, ...flags },
    { content: `tok${letters(i)}`, ...flags },
  ]);
}

function letters(i: number): string {
  return String.fromCharCode(97 + Math.floor(i / 26)) + String.fromCharCode(97 + (i % 26));
}

const TEMPLATES = [
  "{t}",
  "{t}{t}",
  "{t} {t}  {t}",
  "a{t}b",
  "word{t} next",
  "before {t}after",
  " {t}",
  "{t} ",
  "  {t}  ",
  "\n{t}\n",
  "line\n\n{t}\n\nline",
  "\t{t}\t{t}",
  "The cat{t}sat on the mat. {t}",
  "({t})",
  "_{t}_",
  "1{t}2",
  "{t}hello",
  "hello{t}",
  "{t}\n",
];

/** Each template with `{t}` replaced by `token`. */
export function textsWith(token: string): string[] {
  return TEMPLATES.map((template) => template.replaceAll("{t}", token));
}

/** Spellings of `<é7>` that only match after normalization (NFC: decomposed é; NFKC: full-width brackets). */
export function unnormalizedSpellings(content: string): string[] {
  return [content.replace("é", "e\u0301"), content.replace("<", "\uff1c").replace(">", "\uff1e")];
}
