import * as tf from "@tensorflow/tfjs-core";
import { inspect } from "node:util";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { TokenlabError } from "../errors/tokenlab-error";
import type { HfTokenizer } from "../hf/tokenizer";
import { assertNotDisposed, type CausalLM, type ForwardOptions, type GenerateOptions, type ModelChanges, type ParameterLayout, type WeightMap } from "./causal-lm";
import { mergeOverlays, type RowOverlay, type RowOverlays } from "./layers/embedding";
import { generateIds } from "./generate";
import type { ModelFamily } from "./model-family";
import type { ModelConfig } from "./model-config";
import { vocabRows } from "./model-rows";
import { modelSummary } from "./model-summary";

/**
 * A CausalLM made of a family (forward pass), a config, a tokenizer and a WeightMap.
 * Tensor ownership: `withChanges` shares weight tensors with the original. `dispose()` frees every
 * tensor of this model's WeightMap that is not also in `keep` (pass the weights of models still in
 * use), and its overlays' rows (never shared: see withChanges).
 * Displays (notebook and util.inspect) as a short summary, never as a dump of its tensors.
 */
export class TransformerLM implements CausalLM {
  readonly layout: ParameterLayout;

  constructor(
    readonly family: ModelFamily,
    readonly config: ModelConfig,
    readonly tokenizer: HfTokenizer,
    readonly weights: WeightMap,
    readonly generationConfig?: Readonly<Record<string, unknown>>,
    readonly source?: string,
    readonly overlays: RowOverlays = new Map(),
  ) {
    this.layout = family.layout(config);
  }

  /** Returns only the logits; every intermediate is released (gradients still flow through). */
  forward(weights: WeightMap, inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => this.family.run(this.config, weights, inputIds, { attentionMask, ...options, overlays: this.overlaysOver(weights, options.overlays) }).logits);
  }

  /**
   * This model's overlays of the tensors `weights` shares with it (a tensor replaced, e.g. trained
   * whole, already holds its rows), under `extra` (training's row deltas). Call inside tf.tidy.
   */
  private overlaysOver(weights: WeightMap, extra: RowOverlays | undefined): RowOverlays | undefined {
    if (this.overlays.size === 0) return extra;
    const merged = new Map<string, RowOverlay>(extra);
    for (const [name, own] of this.overlays) {
      if (weights.get(name) !== this.weights.get(name)) continue;
      const over = extra?.get(name);
      merged.set(name, over ? mergeOverlays(own, over) : own);
    }
    return merged;
  }

  logits(ids: number[][]): tf.Tensor3D {
    const length = ids[0]?.length ?? 0;
    if (length === 0 || ids.some((row) => row.length !== length)) {
      throw new TokenlabError("logits() needs a non-empty batch of equally long id lists", { lengths: ids.map((r) => r.length) });
    }
    assertNotDisposed(this, "logits");
    const rows = vocabRows(this);
    const bad = ids.flat().find((id) => !Number.isInteger(id) || id < 0 || id >= rows);
    if (bad !== undefined) throw new TokenlabError(`token id ${bad} is outside the embedding (${rows} rows)`, { id: bad, rows });
    return tf.tidy(() => this.forward(this.weights, tf.tensor2d(ids, [ids.length, length], "int32")));
  }

  generate(prompt: string | number[], options: GenerateOptions = {}): Promise<{ ids: number[]; text: string }> {
    assertNotDisposed(this, "generate");
    const promptIds = typeof prompt === "string" ? this.tokenizer.encode(prompt, { addSpecialTokens: true }) : prompt;
    if (promptIds.length === 0) throw new TokenlabError("generate() needs a non-empty prompt");
    return generateIds(
      { family: this.family, config: this.config, weights: this.weights, overlays: this.overlays, tokenizer: this.tokenizer, eosIds: this.eosIds() },
      promptIds,
      options,
    );
  }

  withChanges(changes: ModelChanges): TransformerLM {
    const weights = changes.weights ?? this.weights;
    const overlays = new Map(changes.overlays);
    for (const [name, overlay] of this.overlays) {
      if (!overlays.has(name) && weights.get(name) === this.weights.get(name)) overlays.set(name, { ids: overlay.ids, rows: tf.clone(overlay.rows) });
    }
    return new TransformerLM(
      this.family,
      changes.config ?? this.config,
      changes.tokenizer ?? this.tokenizer,
      weights,
      this.generationConfig,
      undefined,
      overlays,
    );
  }

  dispose(keep: Iterable<WeightMap> = []): void {
    const shared = new Set<tf.Tensor>();
    for (const map of keep) for (const t of map.values()) shared.add(t);
    for (const t of this.weights.values()) if (!shared.has(t)) t.dispose();
    for (const overlay of this.overlays.values()) overlay.rows.dispose();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return modelSummary(this, "TransformerLM")[JUPYTER_DISPLAY]();
  }

  [inspect.custom](): string {
    return modelSummary(this, "TransformerLM").toString();
  }

  private eosIds(): Set<number> {
    const ids = new Set<number>();
    if (this.tokenizer.eosTokenId !== undefined) ids.add(this.tokenizer.eosTokenId);
    for (const source of [this.generationConfig?.eos_token_id, this.config.raw.eos_token_id]) {
      for (const id of [source].flat()) if (typeof id === "number") ids.add(id);
    }
    return ids;
  }
}
