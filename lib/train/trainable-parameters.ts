import * as tf from "@tensorflow/tfjs-core";
import type { CausalLM, WeightMap } from "../models/causal-lm";
import type { LayerGroup } from "./layer-groups";
import { TrainingError } from "./training-error";

/**
 * One tensor the optimizer updates.
 * - a whole weight (`rows` absent): `value` replaces the base tensor `tensor`;
 * - a row delta (`rows` set): `value` is [k, hidden] and holds the current rows `rows.ids` of
 *   `tensor` (PEFT TrainableTokens: the delta starts as the rows themselves, the other rows stay the
 *   frozen base). Gradients and optimizer state are therefore O(k·hidden), not O(vocab·hidden).
 */
export interface TrainableParameter {
  /** Stable key: the HF tensor name, or `<tensor>[new rows]` for a row delta. */
  key: string;
  /** The layer group whose learning rate and gradient norm this parameter reports under. */
  group: string;
  tensor: string;
  rows?: { ids: number[]; index: tf.Tensor1D };
  /** Owned by TrainableParameters; replaced (old one disposed) by `setValues`. */
  value: tf.Tensor;
  /** AdamW decoupled weight decay applies (whole matrices only; never to new-row deltas). */
  decay: boolean;
}

/**
 * The trainable part of a model: which tensors (or rows) train, their current values, and how they
 * combine with the frozen base weights into the WeightMap the model's pure `forward` takes.
 * The base model's tensors are never modified or disposed here.
 */
export class TrainableParameters {
  private readonly params: TrainableParameter[] = [];

  constructor(private readonly base: CausalLM) {}

  get list(): readonly TrainableParameter[] {
    return this.params;
  }

  /** Number of trainable elements (what gradients and each optimizer moment hold). */
  get elementCount(): number {
    return this.params.reduce((sum, p) => sum + p.value.size, 0);
  }

  /**
   * Starts training `groups` (in addition to what already trains). A whole tensor subsumes a row
   * delta of the same tensor: the delta's current rows are folded into it. Returns the parameters
   * that were added (their optimizer state starts empty).
   */
  add(groups: readonly LayerGroup[]): TrainableParameter[] {
    const added: TrainableParameter[] = [];
    // Whole tensors first, so a row group of a tensor that is also trained whole is skipped.
    for (const group of [...groups].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "tensors" ? -1 : 1))) {
      if (group.kind === "tensors") {
        for (const name of group.tensors) {
          const existing = this.params.find((p) => p.tensor === name);
          if (existing && !existing.rows) continue;
          const start = existing ? tf.tidy(() => this.composeOne(existing, existing.value)) : this.baseTensor(name).clone();
          if (existing) this.remove(existing);
          const param: TrainableParameter = { key: name, group: group.name, tensor: name, value: start, decay: start.rank >= 2 };
          this.params.push(param);
          added.push(param);
        }
      } else if (!this.params.some((p) => p.tensor === group.tensor)) {
        const base = this.baseTensor(group.tensor);
        const vocabRows = base.shape[0];
        const bad = group.ids.filter((id) => !(Number.isInteger(id) && id >= 0 && id < vocabRows));
        if (bad.length > 0) throw new TrainingError(`new token ids outside the ${vocabRows} rows of ${group.tensor}`, { ids: bad });
        const mapping = Int32Array.from({ length: vocabRows }, (_, i) => i);
        group.ids.forEach((id, j) => (mapping[id] = vocabRows + j));
        const param: TrainableParameter = {
          key: `${group.tensor}[new rows]`,
          group: group.name,
          tensor: group.tensor,
          rows: { ids: [...group.ids], index: tf.tensor1d(mapping, "int32") },
          value: tf.tidy(() => tf.gather(base, tf.tensor1d(group.ids, "int32"))),
          decay: false,
        };
        this.params.push(param);
        added.push(param);
      }
    }
    return added;
  }

  /**
   * The full WeightMap for `forward`, with `values[i]` standing in for `list[i]` (pass the tensors
   * being differentiated). Call inside tf.tidy / tf.grads: it creates intermediates.
   */
  compose(values: readonly tf.Tensor[] = this.params.map((p) => p.value)): WeightMap {
    const weights = new Map(this.base.weights);
    this.params.forEach((param, i) => weights.set(param.tensor, this.composeOne(param, values[i])));
    return weights;
  }

  /** Replaces the current values (takes ownership of `values`, disposes the old ones). */
  setValues(values: readonly tf.Tensor[]): void {
    this.params.forEach((param, i) => {
      if (param.value !== values[i]) param.value.dispose();
      param.value = values[i];
    });
  }

  /** Clones of the current values (cheap: tfjs tensors are immutable, so clones share memory). */
  snapshot(): tf.Tensor[] {
    return this.params.map((p) => p.value.clone());
  }

  /**
   * The weights of a trained model: the base tensors where nothing trained (shared, not copied),
   * new tensors where something did. Row deltas are written into a copy of the base rows on the
   * CPU, so every untouched row stays bit-identical. The caller owns the new tensors.
   */
  toWeights(values: readonly tf.Tensor[] = this.params.map((p) => p.value)): WeightMap {
    const weights = new Map(this.base.weights);
    this.params.forEach((param, i) => {
      if (!param.rows) {
        weights.set(param.tensor, values[i].clone());
        return;
      }
      const base = this.baseTensor(param.tensor);
      const data = Float32Array.from(base.dataSync() as Float32Array);
      const rows = values[i].dataSync() as Float32Array;
      const hidden = base.shape[1] as number;
      param.rows.ids.forEach((id, j) => data.set(rows.subarray(j * hidden, (j + 1) * hidden), id * hidden));
      weights.set(param.tensor, tf.tensor(data, base.shape, "float32"));
    });
    return weights;
  }

  dispose(): void {
    for (const param of this.params) this.remove(param);
  }

  private composeOne(param: TrainableParameter, value: tf.Tensor): tf.Tensor {
    if (!param.rows) return value;
    // Old rows come from the frozen base; row id_j comes from delta row j (index vocab + j).
    return tf.gather(tf.concat([this.baseTensor(param.tensor), value], 0), param.rows.index);
  }

  private remove(param: TrainableParameter): void {
    param.value.dispose();
    param.rows?.index.dispose();
    this.params.splice(this.params.indexOf(param), 1);
  }

  private baseTensor(name: string): tf.Tensor {
    const tensor = this.base.weights.get(name);
    if (!tensor) throw new TrainingError(`the model has no tensor "${name}"`, { tensor: name });
    return tensor;
  }
}
