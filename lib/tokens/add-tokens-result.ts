import * as tf from "@tensorflow/tfjs-core";
import { escapeHtml } from "../display/html-escape";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { Table } from "../display/table";
import type { CausalLM } from "../models/causal-lm";
import { matrixRowReader, matrixRows, vocabRows } from "../models/model-rows";
import type { AddTokensOptions } from "./add-tokens";
import { strategyLabel, type InitStrategy } from "./init-strategies";
import { nearestRows } from "./nearest-tokens";
import { describeFlags, type AddedTokenFlags } from "./token-spec";

export interface AddedTokenInfo {
  content: string;
  id: number;
  flags: AddedTokenFlags;
  /** "new": a new id and rows; "reuse": an existing id registered as an added token (onExisting "reuse"). */
  kind: "new" | "reuse";
  /** The strategy that built its rows; null for reused tokens (their rows are unchanged). */
  init: InitStrategy | null;
}

export interface NearestToken {
  id: number;
  token: string;
  similarity: number;
}

/**
 * What `addTokens` returns: the extended `model` (a new CausalLM), the untouched `base`, the added
 * tokens with their ids, flags and init strategies, and the tokens skipped because they existed.
 * Displays as a table with each token's 5 nearest existing tokens (cosine similarity of input rows).
 */
export class AddTokensResult {
  constructor(
    readonly base: CausalLM,
    readonly model: CausalLM,
    readonly tokens: readonly AddedTokenInfo[],
    readonly skipped: ReadonlyArray<{ content: string; id: number }>,
    /** The options addTokens got (an experiment file repeats them). */
    readonly options: AddTokensOptions = {},
  ) {}

  /** Ids that got new rows, in order. */
  get newIds(): number[] {
    return this.tokens.filter((t) => t.kind === "new").map((t) => t.id);
  }

  /** The `k` existing base tokens whose input rows are closest (cosine) to each added token's row. */
  nearest(k = 5): NearestToken[][] {
    if (this.tokens.length === 0) return [];
    const embedding = this.model.layout.embedding;
    const ids = this.tokens.map((t) => t.id);
    const queries = tf.tidy(() => matrixRows(this.model, embedding, ids));
    try {
      const neighbours = nearestRows(matrixRowReader(this.model, embedding), this.base.tokenizer.size, queries, k + 1);
      return neighbours.map((row, i) =>
        row
          .filter((n) => n.id !== ids[i])
          .slice(0, k)
          .map((n) => ({ ...n, token: readableToken(this.base, n.id) })),
      );
    } finally {
      queries.dispose();
    }
  }

  table(): Table {
    const nearest = this.nearest(5);
    return new Table({
      title: `${this.newIds.length} new token(s), ${this.tokens.length - this.newIds.length} reused; vocab rows ${rowsOf(this.base)} → ${rowsOf(this.model)}`,
      columns: ["token", "id", "flags", "init", "nearest existing tokens (cosine)"],
      rows: this.tokens.map((token, i) => [
        token.content,
        token.id,
        describeFlags(token.flags),
        token.init === null ? "existing row" : strategyLabel(token.init),
        nearest[i].map((n) => `${JSON.stringify(n.token)} ${n.similarity.toFixed(2)}`).join(", "),
      ]),
    });
  }

  /** One line per skipped token. */
  notes(): string[] {
    return this.skipped.map((s) => `skipped ${JSON.stringify(s.content)}: already in the vocabulary (id ${s.id})`);
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const table = this.table();
    const notes = this.notes();
    return {
      "text/html": table.toHTML() + notes.map((note) => `<p class="tokenlab-note">${escapeHtml(note)}</p>`).join(""),
      "text/plain": [table.toString(), ...notes].join("\n"),
    };
  }
}

/** The decoded text, or the raw vocab entry when a lone byte piece does not decode (U+FFFD). */
function readableToken(model: CausalLM, id: number): string {
  const text = model.tokenizer.decode([id]);
  return text.includes("\uFFFD") ? model.tokenizer.idToToken(id) ?? text : text;
}

function rowsOf(model: CausalLM): number {
  return vocabRows(model);
}
