import * as fs from "node:fs";
import type { ChatMessage } from "../hf/tokenizer";
import { DataError } from "./data-error";

/** One training example: plain text, or a conversation rendered with the model's chat_template. */
export type Example = { text: string } | { messages: ChatMessage[] };

/**
 * Reads a plain text file as examples. `split`: "paragraph" (default; blank lines separate examples,
 * so a train/eval split has something to split), "line", or "file" (the whole file is one example).
 */
export function readTextFile(file: string, options: { split?: "paragraph" | "line" | "file" } = {}): Example[] {
  const text = readUtf8(file);
  const split = options.split ?? "paragraph";
  const pieces = split === "file" ? [text] : text.split(split === "line" ? /\r?\n/ : /\r?\n\s*\r?\n/);
  return pieces.filter((piece) => piece.trim().length > 0).map((piece) => ({ text: piece }));
}

/** Reads JSON Lines where each line is `{"text": ...}` or `{"messages": [{role, content}, ...]}`. */
export function readJsonl(file: string): Example[] {
  const examples: Example[] = [];
  readUtf8(file)
    .split(/\r?\n/)
    .forEach((line, index) => {
      if (line.trim() === "") return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (cause) {
        throw new DataError(`${file}:${index + 1} is not valid JSON`, { file, line: index + 1 }, { cause });
      }
      examples.push(toExample(value, `${file}:${index + 1}`, { file, line: index + 1 }));
    });
  return examples;
}

/**
 * Validates one example object (as found in JSONL or passed by the user). `where` starts the error
 * message (e.g. "data.jsonl:3" or "example #2") — the kernel shows the message, not the context.
 */
export function toExample(value: unknown, where = "example", context: Record<string, unknown> = {}): Example {
  if (typeof value === "string") return { text: value };
  const record = value as Record<string, unknown> | null;
  if (record && typeof record.text === "string") return { text: record.text };
  if (record && Array.isArray(record.messages)) {
    record.messages.forEach((message: unknown, i: number) => {
      const m = message as Partial<ChatMessage> | null;
      if (!m || typeof m.role !== "string" || typeof m.content !== "string") {
        throw new DataError(`${where}: message ${i} needs string "role" and "content"`, { ...context, message: i });
      }
    });
    return { messages: record.messages as ChatMessage[] };
  }
  throw new DataError(`${where}: an example must be a string, {"text": string} or {"messages": [{role, content}]}; got ${describe(value)}`, context);
}

/** A short description of a wrong example: its JSON, cut at 80 characters. */
function describe(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

function readUtf8(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new DataError(`cannot read ${file}: ${(cause as Error).message}`, { file }, { cause });
  }
}
