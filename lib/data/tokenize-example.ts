import type { ChatMessage, HfTokenizer } from "../hf/tokenizer";
import { DataError } from "./data-error";
import type { Example } from "./examples";
import { appendAll } from "../runtime/large-arrays";

/** Which tokens count as targets: every token, or only the assistant turns of conversations. */
export type LossOn = "all" | "assistant";

export interface TokenizedExample {
  ids: number[];
  /** lossMask[j]: token j is a target (predicting it counts in the loss). Same length as ids. */
  lossMask: boolean[];
}

type Tokenizer = Pick<HfTokenizer, "encode" | "applyChatTemplate" | "tokenizerJson">;

/**
 * Tokenizes one example. Conversations are rendered with the tokenizer's chat_template. With
 * `lossOn: "assistant"` only the tokens of assistant turns are targets: each turn's content plus
 * the end-of-turn marker the template writes right after it (the first special token after the
 * content, e.g. `<|im_end|>`, `<|eot_id|>`), so the model learns to stop. Text the template writes
 * before the content (role headers, Qwen3's empty `<think>` block) is context, not target.
 *
 * The spans are found exactly by character offsets: the conversation is rendered once more with
 * the turn's content replaced by a sentinel; the text before and after the sentinel must equal the
 * real rendering around the content, which must appear verbatim (templates that rewrite content
 * are refused). Each piece is tokenized separately and the concatenation must equal the
 * tokenization of the whole conversation — otherwise a token crosses a turn boundary, no
 * token-level mask is exact, and a DataError says so rather than guessing.
 */
export function tokenizeExample(tokenizer: Tokenizer, example: Example, options: { lossOn?: LossOn } = {}): TokenizedExample {
  const lossOn = options.lossOn ?? "all";
  if ("text" in example) {
    const ids = tokenizer.encode(example.text);
    return { ids, lossMask: ids.map(() => true) };
  }
  const full = tokenizer.applyChatTemplate(example.messages);
  if (lossOn === "all") {
    const ids = tokenizer.encode(full);
    return { ids, lossMask: ids.map(() => true) };
  }
  const spans = assistantSpans(tokenizer, example.messages, full);
  const ids: number[] = [];
  const lossMask: boolean[] = [];
  let cursor = 0;
  const pushPiece = (end: number, target: boolean): void => {
    if (end <= cursor) return;
    const pieceIds = tokenizer.encode(full.slice(cursor, end));
    appendAll(ids, pieceIds);
    pieceIds.forEach(() => lossMask.push(target));
    cursor = end;
  };
  for (const [start, end] of spans) {
    pushPiece(start, false);
    pushPiece(end, true);
  }
  pushPiece(full.length, false);
  const whole = tokenizer.encode(full);
  if (whole.length !== ids.length || whole.some((id, i) => id !== ids[i])) {
    throw new DataError(
      'a token crosses an assistant-turn boundary of this chat template, so an exact assistant-only loss mask is impossible; use lossOn: "all"',
      { rendered: full },
    );
  }
  return { ids, lossMask };
}

/** Character spans [start, end) of the assistant turns (content + end-of-turn marker) in `full`. */
function assistantSpans(tokenizer: Tokenizer, messages: ChatMessage[], full: string): Array<[number, number]> {
  const specials = ((tokenizer.tokenizerJson.added_tokens ?? []) as Array<{ content: string; special?: boolean }>)
    .filter((token) => token.special)
    .map((token) => token.content)
    .sort((a, b) => b.length - a.length);
  const spans: Array<[number, number]> = [];
  messages.forEach((message, i) => {
    if (message.role !== "assistant") return;
    const sentinel = `\u2063tokenlab-assistant-turn-${i}\u2063`;
    const marked = tokenizer.applyChatTemplate(messages.map((m, j) => (j === i ? { ...m, content: sentinel } : m)));
    const start = marked.indexOf(sentinel);
    const end = start + full.length - (marked.length - sentinel.length);
    const located =
      start >= 0 &&
      full.slice(0, start) === marked.slice(0, start) &&
      full.slice(end) === marked.slice(start + sentinel.length) &&
      full.slice(start, end) === message.content;
    if (!located) {
      throw new DataError(
        'this chat_template does not write assistant content verbatim in a fixed frame, so assistant turns cannot be located exactly; use lossOn: "all"',
        { message: i, rendered: full },
      );
    }
    const rest = full.slice(end);
    const gap = /^\s*/.exec(rest)![0].length;
    const marker = specials.find((special) => rest.startsWith(special, gap));
    spans.push([start, marker === undefined ? end : end + gap + marker.length]);
  });
  return spans;
}
