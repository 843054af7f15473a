import { escapeHtml } from "../display/html-escape";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { parseAddedTokens } from "../hf/added-tokens";
import type { HfTokenizer } from "../hf/tokenizer";

export interface TokenPiece {
  id: number;
  /** The token as text (decoded on its own). */
  text: string;
  /** An added token (tokenizer.json `added_tokens`); `special` when flagged special. */
  added: boolean;
  special: boolean;
}

/** The tokenization of a text, added tokens highlighted. */
export class TokenView {
  constructor(readonly text: string, readonly pieces: readonly TokenPiece[]) {}

  get ids(): number[] {
    return this.pieces.map((p) => p.id);
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const spans = this.pieces.map((p) => {
      const style = p.added
        ? `background:${p.special ? "#f6c26b" : "#9fd4a3"};font-weight:bold`
        : "background:#e8e8e8";
      const label = escapeHtml(p.text).replace(/\n/g, "⏎");
      return `<span title="id ${p.id}${p.added ? (p.special ? " · added, special" : " · added") : ""}" style="${style};border-radius:3px;padding:0 2px;margin:0 1px;white-space:pre">${label}</span>`;
    });
    const plain = this.pieces.map((p) => (p.added ? `[${p.text}]` : p.text).replace(/\n/g, "⏎")).join("|");
    return {
      "text/html": `<div class="tokenlab-tokens" style="font-family:monospace;line-height:1.8">${spans.join("")}</div><small>${this.pieces.length} tokens; added tokens highlighted (special: orange)</small>`,
      "text/plain": `${plain}\n${this.pieces.length} tokens; [added tokens] in brackets; ids ${this.ids.join(" ")}`,
    };
  }
}

/** Tokenizes `text` exactly as Python's `tokenizers` would (no special tokens inserted) and returns a displayable view. */
export function showTokens(tokenizer: HfTokenizer, text: string): TokenView {
  const added = parseAddedTokens(tokenizer.tokenizerJson);
  const pieces = tokenizer.encode(text).map((id) => {
    const entry = added.get(id);
    return { id, text: tokenizer.decode([id]), added: entry !== undefined, special: entry?.flags.special ?? false };
  });
  return new TokenView(text, pieces);
}
