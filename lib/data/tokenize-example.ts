import type { ChatMessage, HfTokenizer } from "../hf/tokenizer";
import { DataError } from "./data-error";
import type { Example } from "./examples";

/** Which tokens count as targets: every token, or only the assistant turns of conversations. */
export type LossOn = "all" | "assistant";

export interface TokenizedExample {
  ids: number[];
  /** lossMask[j]: token j is a target (predicting it counts in the loss). Same length as ids. */
  lossMask: boolean[];
}

type Tokenizer = Pick<HfTokenizer, "encode" | "applyChatTemplate">;

/**
 * Tokenizes one example. Conversations are rendered with the tokenizer's chat_template. With
 * `lossOn: "assistant"` only the tokens of assistant turns (their content and the template's
 * end-of-turn text up to the next turn) are targets.
 *
 * The assistant spans are found exactly, by rendering the conversation prefix incrementally: turn i
 * spans from the end of render(messages[:i], add_generation_prompt) to the end of
 * render(messages[:i+1]). Each rendered piece is tokenized separately and the concatenation must
 * equal the tokenization of the whole conversation — otherwise a token crosses a turn boundary,
 * no token-level mask is exact, and a DataError says so rather than guessing.
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
    ids.push(...pieceIds);
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
      "a token crosses an assistant-turn boundary of this chat template, so an exact assistant-only loss mask is impossible; use lossOn: \"all\"",
      { rendered: full },
    );
  }
  return { ids, lossMask };
}

/** Character spans [start, end) of the assistant turns in `full`, found by incremental rendering. */
function assistantSpans(tokenizer: Tokenizer, messages: ChatMessage[], full: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  messages.forEach((message, i) => {
    if (message.role !== "assistant") return;
    const before = tokenizer.applyChatTemplate(messages.slice(0, i), { addGenerationPrompt: true });
    const through = tokenizer.applyChatTemplate(messages.slice(0, i + 1));
    if (!full.startsWith(before) || !full.startsWith(through) || through.length < before.length) {
      throw new DataError(
        "this chat_template does not render conversation prefixes as prefixes of the whole conversation, so assistant turns cannot be located exactly; use lossOn: \"all\"",
        { message: i, rendered: full },
      );
    }
    spans.push([before.length, through.length]);
  });
  return spans;
}
