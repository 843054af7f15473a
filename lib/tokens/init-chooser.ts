import { escapeHtml } from "../display/html-escape";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display/mime-bundle";
import type { CausalLM, WeightMap } from "../models/causal-lm";
import { Dropdown, Text } from "../widgets/controls";
import { Interactive } from "../widgets/interactive";
import { AddTokensError } from "./add-tokens-error";
import type { NearestToken } from "./add-tokens-result";
import { addTokens } from "./add-tokens";
import { initReport, type InitReport } from "./init-report";
import type { InitStrategy } from "./init-strategies";

/** A strategy, or one built from the token typed (e.g. `{from: token}`). */
export type InitChoice = InitStrategy | { ofToken(token: string): InitStrategy };

/** The built-in strategies offered by default, under the names addTokens uses. */
export const DEFAULT_INIT_CHOICES: Readonly<Record<string, InitChoice>> = {
  mean: "mean",
  "mvn-mean": "mvn-mean",
  "noisy-mean": "noisy-mean",
  random: "random",
  zeros: "zeros",
  "from its text": { ofToken: (token) => ({ from: token }) },
};

/** What one init does to the model, before any training: initReport's row and the nearest existing tokens. */
export class InitPreview implements Displayable {
  constructor(
    readonly token: string,
    readonly choice: string,
    readonly report: InitReport,
    readonly nearest: readonly NearestToken[],
    readonly skipped: boolean,
  ) {}

  [JUPYTER_DISPLAY](): MimeBundle {
    const table = this.report[JUPYTER_DISPLAY]();
    const nearest = this.nearest.map((n) => `${JSON.stringify(n.token)} ${n.similarity.toFixed(2)}`).join(", ");
    const note = this.skipped ? `${JSON.stringify(this.token)} is already in the vocabulary: nothing to initialize` : `nearest existing tokens (cosine): ${nearest}`;
    return {
      "text/html": `<div class="tokenlab-init-preview"><b>${escapeHtml(this.token)}</b> · init ${escapeHtml(this.choice)}${table["text/html"]}<div class="tokenlab-nearest">${escapeHtml(note)}</div></div>`,
      "text/plain": `${this.token} · init ${this.choice}\n${table["text/plain"]}\n${note}`,
    };
  }
}

/**
 * Adds `token` with one init strategy to a throwaway variant of `model`, measures it with
 * initReport on `texts` (KL and new-token mass) and finds its nearest existing tokens; frees the variant.
 */
export function previewInit(model: CausalLM, token: string, choice: string, strategy: InitStrategy, texts: string[]): InitPreview {
  if (token.length === 0) throw new AddTokensError("type a token to preview its init");
  const added = addTokens(model, token, { init: strategy });
  try {
    const report = initReport(model, { [choice]: added }, texts);
    return new InitPreview(token, choice, report, added.nearest(5)[0] ?? [], added.newIds.length === 0);
  } finally {
    (added.model as CausalLM & { dispose?(keep?: Iterable<WeightMap>): void }).dispose?.([model.weights]);
  }
}

export interface InitChooserOptions {
  /** Reference texts for initReport (tokenized by the base tokenizer). */
  texts: string[];
  /** The token shown first (default "<new>"). */
  token?: string;
  /** Strategies to offer, by label (default DEFAULT_INIT_CHOICES). */
  choices?: Record<string, InitChoice>;
  /** The label selected first (default: the first). */
  choice?: string;
}

/**
 * The init strategies as a dropdown plus a token field; each change shows initReport's KL and
 * new-token mass and the nearest existing tokens for that choice, without training. Where widgets
 * are unavailable it displays the preview of the initial choice.
 */
export class InitChooser extends Interactive {
  readonly strategy: Dropdown;
  readonly token: Text;

  constructor(model: CausalLM, options: InitChooserOptions) {
    const choices = options.choices ?? DEFAULT_INIT_CHOICES;
    const strategy = new Dropdown({ options: Object.keys(choices), value: options.choice, description: "init" });
    const token = new Text({ value: options.token ?? "<new>", description: "token", continuous_update: false });
    super([strategy, token], () => {
      const label = strategy.value ?? Object.keys(choices)[0];
      const choice = choices[label];
      const text = token.get("value");
      return previewInit(model, text, label, typeof choice === "object" && "ofToken" in choice ? choice.ofToken(text) : choice, options.texts);
    });
    this.strategy = strategy;
    this.token = token;
    strategy.on("index", () => this.refresh());
    token.on("value", () => this.refresh());
  }
}

export function initChooser(model: CausalLM, options: InitChooserOptions): InitChooser {
  return new InitChooser(model, options);
}
