import { isDeepStrictEqual } from "node:util";
import { stripAnsi } from "../execution/ansi";
import { joinText, type Output } from "./notebook-file";
import { sanitize, type Sanitizer } from "./sanitizers";
import { unifiedDiff } from "./text-diff";

/** Output fields and mime types that are never compared (nbval's skip list, plus widget views). */
const SKIPPED = new Set([
  "output_type", "metadata", "traceback", "execution_count", "name", "transient",
  "image/png", "image/jpeg", "image/gif", "application/vnd.jupyter.widget-view+json",
]);

export interface Mismatch {
  /** the field or mime type that differs, e.g. "stdout", "text/plain", "ename" */
  key: string;
  message: string;
  /** unified-style diff, saved (-) against fresh (+) */
  diff: string;
}

/**
 * nbval's comparison of one cell: streams merged per name, every output flattened into lists of
 * values per field / mime type (so the relative order of different kinds does not matter, the order
 * within one kind does), strings sanitized, then compared list by list.
 * Returns the first difference, or undefined when the outputs agree.
 */
export function compareOutputs(saved: readonly Output[], fresh: readonly Output[], sanitizers: readonly Sanitizer[]): Mismatch | undefined {
  const want = flatten(coalesceStreams(saved), sanitizers);
  const got = flatten(coalesceStreams(fresh), sanitizers);
  const missing = [...want.keys()].filter((key) => !got.has(key));
  const unexpected = [...got.keys()].filter((key) => !want.has(key));
  if (missing.length > 0 || unexpected.length > 0) {
    const key = [...missing, ...unexpected][0];
    const message = [
      missing.length > 0 ? `missing from the fresh run: ${missing.join(", ")}` : "",
      unexpected.length > 0 ? `not in the saved notebook: ${unexpected.join(", ")}` : "",
    ].filter(Boolean).join("; ");
    return { key, message, diff: unifiedDiff(show(want.get(key) ?? []), show(got.get(key) ?? [])) };
  }
  for (const [key, savedValues] of want) {
    const freshValues = got.get(key) ?? [];
    if (savedValues.length !== freshValues.length) {
      return {
        key,
        message: `${savedValues.length} saved ${key} output(s) but ${freshValues.length} fresh`,
        diff: unifiedDiff(show(savedValues), show(freshValues)),
      };
    }
    const at = savedValues.findIndex((value, i) => !isDeepStrictEqual(value, freshValues[i]));
    if (at >= 0) return { key, message: `${key} differs`, diff: unifiedDiff(show([savedValues[at]]), show([freshValues[at]])) };
  }
  return undefined;
}

/**
 * Merges all stream outputs of one name into the first of them, then applies `\b` and `\r` the way a
 * terminal would (nbval's rule), so how a kernel split its writes does not matter.
 */
export function coalesceStreams(outputs: readonly Output[]): Output[] {
  const merged: Output[] = [];
  const streams = new Map<string, { output_type: "stream"; name: string; text: string }>();
  for (const output of outputs) {
    if (output.output_type !== "stream") {
      merged.push(output);
      continue;
    }
    const existing = streams.get(output.name);
    if (existing) existing.text += joinText(output.text);
    else {
      const copy = { output_type: "stream" as const, name: output.name, text: joinText(output.text) };
      streams.set(output.name, copy);
      merged.push(copy);
    }
  }
  for (const stream of streams.values()) stream.text = applyControlCharacters(stream.text);
  return merged;
}

function applyControlCharacters(text: string): string {
  let previous: string;
  do {
    previous = text;
    text = text.replace(/[^\n]\x08/g, ""); // a character followed by backspace cancels out
  } while (text.length < previous.length);
  return text.replace(/^.*\r(?=[^\n])/gm, ""); // a carriage return not before a newline rewrites the line
}

function flatten(outputs: readonly Output[], sanitizers: readonly Sanitizer[]): Map<string, unknown[]> {
  const values = new Map<string, unknown[]>();
  const put = (key: string, value: unknown): void => {
    // Colour is presentation: a saved output compares equal to a fresh one with other escape codes.
    const plain = typeof value === "string" ? stripAnsi(value) : value;
    if (!SKIPPED.has(key)) values.set(key, [...(values.get(key) ?? []), sanitize(plain, sanitizers)]);
  };
  for (const output of outputs) {
    if (output.output_type === "stream") put(output.name, joinText(output.text));
    else if (output.output_type === "error") {
      put("ename", output.ename);
      put("evalue", output.evalue);
    } else {
      for (const [mime, value] of Object.entries(output.data)) put(mime, isJsonMime(mime) ? value : joinText(value));
    }
  }
  return values;
}

function isJsonMime(mime: string): boolean {
  return mime === "application/json" || mime.endsWith("+json");
}

function show(values: unknown[]): string {
  return values.map((value) => (typeof value === "string" ? value : JSON.stringify(value, null, 1))).join("\n");
}
