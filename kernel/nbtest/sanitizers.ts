import { readFileSync } from "node:fs";
import { NbtestError } from "./nbtest-error";

export interface Sanitizer {
  regex: RegExp;
  replace: string;
}

/**
 * nbval's sanitize file: every `regex: …` line directly followed by a `replace: …` line is one pair;
 * `[section]` headers and other lines are ignored. Patterns are Python `re` syntax, so the few
 * Python-only spellings are translated: `(?P<name>` groups, `\1` / `\g<1>` / `\g<name>` references.
 */
export function parseSanitizers(text: string, source = "sanitizers"): Sanitizer[] {
  const pairs = [...text.matchAll(/^regex: (.*)\r?\n^replace: (.*?)\r?$/gm)];
  return pairs.map(([, pattern, replace]) => {
    try {
      return { regex: new RegExp(pattern.replace(/\(\?P</g, "(?<"), "g"), replace: pythonReplacement(replace) };
    } catch (error) {
      throw new NbtestError(`Bad sanitizer regex in ${source}: ${(error as Error).message}`, { source, pattern }, { cause: error });
    }
  });
}

export function readSanitizers(path: string): Sanitizer[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new NbtestError(`Cannot read sanitizer file ${path}`, { path }, { cause: error });
  }
  return parseSanitizers(text, path);
}

/** Applies every pair in order, like nbval's `re.sub` loop; non-strings pass unchanged. */
export function sanitize<T>(value: T, sanitizers: readonly Sanitizer[]): T {
  if (typeof value !== "string") return value;
  return sanitizers.reduce((text, { regex, replace }) => text.replace(regex, replace), value as string) as T;
}

function pythonReplacement(replace: string): string {
  return replace
    .replace(/\$/g, "$$$$")
    .replace(/\\g<(\d+)>/g, "$$$1")
    .replace(/\\g<(\w+)>/g, "$$<$1>")
    .replace(/\\(\d+)/g, "$$$1");
}
