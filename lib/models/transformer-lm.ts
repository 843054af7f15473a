import * as tf from "@tensorflow/tfjs-core";
import { inspect } from "node:util";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { TokenlabError } from "../errors/tokenlab-error";
import type { HfTokenizer } from "../hf/tokenizer";
import { assertNotDisposed, type CausalLM, type ForwardOptions, type GenerateOptions, type ParameterLayout, type WeightMap } from "./causal-lm";
import { generateIds } from "./generate";
import type { ModelFamily } from "./model-family";
import type { ModelConfig } from "./model-config";
import { modelSummary } from "./model-summary";

/**
 * A CausalLM made of a family (forward pass), a config, a tokenizer and a WeightMap.
 * Tensor ownership: `withChanges` shares tensors with the original. `dispose()` frees every tensor
 * of this model's WeightMap that is not also in `keep` (pass the weights of models still in use).
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
  ) {
    this.layout = family.layout(config);
  }

  /** Returns only the logits; every intermediate is released (gradients still flow through). */
  forward(weights: WeightMap, inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => this.family.run(this.config, weights, inputIds, { attentionMask, ...options }).logits);
  }

  logits(ids: number[][]): tf.Tensor3D {
    const length = ids[0]?.length ?? 0;
    if (length === 0 || ids.some((row) => row.length !== length)) {
      throw new TokenlabError("logits() needs a non-empty batch of equally long id lists", { lengths: ids.map((r) => r.length) });
    }
    assertNotDisposed(this, "logits");
    const rows = this.weights.get(this.layout.embedding)!.shape[0];
    const bad = ids.flat().find((id) => !Number.isInteger(id) || id < 0 || id >= rows);
    if (bad !== undefined) throw new TokenlabError(`token id ${bad} is outside the embedding (${rows} rows)`, { id: bad, rows });
    return tf.tidy(() => this.forward(this.weights, tf.tensor2d(ids, [ids.length, length], "int32")));
  }

  generate(prompt: string | number[], options: GenerateOptions = {}): Promise<{ ids: number[]; text: string }> {
    assertNotDisposed(this, "generate");
    const promptIds = typeof prompt === "string" ? this.tokenizer.encode(prompt, { addSpecialTokens: true }) : prompt;
    if (promptIds.length === 0) throw new TokenlabError("generate() needs a non-empty prompt");
    return generateIds(
      { family: this.family, config: this.config, weights: this.weights, tokenizer: this.tokenizer, eosIds: this.eosIds() },
      promptIds,
      options,
    );
  }

  withChanges(changes: { weights?: WeightMap; config?: ModelConfig; tokenizer?: HfTokenizer }): TransformerLM {
    return new TransformerLM(
      this.family,
      changes.config ?? this.config,
      changes.tokenizer ?? this.tokenizer,
      changes.weights ?? this.weights,
      this.generationConfig,
    );
  }

  dispose(keep: Iterable<WeightMap> = []): void {
    const shared = new Set<tf.Tensor>();
    for (const map of keep) for (const t of map.values()) shared.add(t);
    for (const t of this.weights.values()) if (!shared.has(t)) t.dispose();
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
