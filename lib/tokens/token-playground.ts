import * as tf from "@tensorflow/tfjs-core";
import { escapeHtml } from "../display/html-escape";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display/mime-bundle";
import type { CausalLM } from "../models/causal-lm";
import { tokenLogProbs } from "../models/token-log-probs";
import { Text } from "../widgets/controls";
import { Interactive } from "../widgets/interactive";
import { AddTokensResult } from "./add-tokens-result";
import { showTokens, type TokenPiece } from "./show-tokens";

export interface Prediction {
  id: number;
  token: string;
  probability: number;
  /** One of the new tokens. */
  isNew: boolean;
}

/** A text's tokens (new ones marked) and the model's top next-token predictions after it. */
export class TextAnalysis implements Displayable {
  constructor(
    readonly text: string,
    readonly pieces: ReadonlyArray<TokenPiece & { isNew: boolean }>,
    readonly predictions: readonly Prediction[],
  ) {}

  get ids(): number[] {
    return this.pieces.map((p) => p.id);
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const spans = this.pieces.map((p) => {
      const style = p.isNew ? "background:#9fd4a3;font-weight:bold" : p.added ? "background:#f6c26b" : "background:#e8e8e8";
      return `<span class="tokenlab-token${p.isNew ? " tokenlab-new-token" : ""}" title="id ${p.id}${p.isNew ? " · new" : ""}" style="${style};border-radius:3px;padding:0 2px;margin:0 1px;white-space:pre">${escapeHtml(p.text).replace(/\n/g, "⏎")}</span>`;
    });
    const rows = this.predictions.map(
      (p) => `<tr${p.isNew ? ' class="tokenlab-new-token"' : ""}><td style="font-family:monospace">${escapeHtml(JSON.stringify(p.token))}${p.isNew ? " ★ new" : ""}</td><td>${p.id}</td><td>${(p.probability * 100).toFixed(2)}%</td></tr>`,
    );
    const html = [
      `<div class="tokenlab-playground">`,
      `<div class="tokenlab-tokens" style="font-family:monospace;line-height:1.8">${spans.join("") || "<i>empty text</i>"}</div>`,
      `<div class="tokenlab-ids" style="font-family:monospace;font-size:90%">ids: ${this.ids.join(" ")}</div>`,
      this.predictions.length > 0
        ? `<table class="tokenlab-predictions"><thead><tr><th>next token</th><th>id</th><th>probability</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
        : "",
      `<small>${this.pieces.length} tokens; new tokens in green (★ in predictions), other added tokens in orange</small></div>`,
    ].join("");
    const plain = [
      this.pieces.map((p) => (p.isNew ? `[${p.text}]` : p.text).replace(/\n/g, "⏎")).join("|"),
      `ids: ${this.ids.join(" ")}`,
      ...this.predictions.map((p) => `${JSON.stringify(p.token)}${p.isNew ? " (new)" : ""} id ${p.id}: ${(p.probability * 100).toFixed(2)}%`),
    ].join("\n");
    return { "text/html": html, "text/plain": plain };
  }
}

export interface PlaygroundOptions {
  /** The text shown first (default ""). */
  text?: string;
  /** How many next-token predictions (default 5). */
  topK?: number;
  /** Ids to mark as new (default: the result's new ids; none for a plain model). */
  newIds?: readonly number[];
}

/** Tokenizes `text` (no special tokens inserted) and predicts the next token after it. */
export function analyzeText(model: CausalLM, text: string, options: { topK?: number; newIds?: readonly number[] } = {}): TextAnalysis {
  const newIds = new Set(options.newIds ?? []);
  const pieces = showTokens(model.tokenizer, text).pieces.map((p) => ({ ...p, isNew: newIds.has(p.id) }));
  const ids = pieces.map((p) => p.id).slice(-model.config.maxPositionEmbeddings);
  if (ids.length === 0) return new TextAnalysis(text, pieces, []);
  const [values, indices] = tf.tidy(() => {
    const logits = model.logits([ids]); // [1, L, rows]
    const last = logits.slice([0, ids.length - 1, 0], [1, 1, -1]).reshape([-1]) as tf.Tensor1D; // [rows]
    const top = tf.topk(tf.exp(tokenLogProbs(last, model.tokenizer)), Math.min(options.topK ?? 5, last.shape[0]));
    return [top.values.dataSync(), top.indices.dataSync()];
  });
  const predictions = Array.from(indices, (id, i) => ({ id, token: model.tokenizer.decode([id]), probability: values[i], isNew: newIds.has(id) }));
  return new TextAnalysis(text, pieces, predictions);
}

/**
 * A text box; as you type, the tokenization (new tokens highlighted), the ids and the model's top
 * next-token predictions with probabilities (new tokens marked) — computed in the kernel. Where
 * widgets are unavailable it displays the analysis of `options.text`.
 */
export class TokenPlayground extends Interactive {
  readonly input: Text;

  constructor(model: CausalLM | AddTokensResult, options: PlaygroundOptions = {}) {
    const lm = model instanceof AddTokensResult ? model.model : model;
    const newIds = options.newIds ?? (model instanceof AddTokensResult ? model.newIds : []);
    const input = new Text({ value: options.text ?? "", placeholder: "type a text", description: "text", layout: { width: "100%" } });
    super([input], () => analyzeText(lm, input.get("value"), { topK: options.topK, newIds }));
    this.input = input;
    input.on("value", () => this.refresh());
  }
}

export function tokenPlayground(model: CausalLM | AddTokensResult, options: PlaygroundOptions = {}): TokenPlayground {
  return new TokenPlayground(model, options);
}
