import * as tf from "@tensorflow/tfjs-core";
import type { CausalLM, ModelChanges, WeightMap } from "../models/causal-lm";
import { embed, mergeOverlays, overlaidRows, type RowOverlay } from "../models/layers/embedding";
import { materializedMatrix, matrixRows, storableRows } from "../models/model-rows";
import { unpackedWeight, weightCount } from "../models/packed-weights";
import { gigabytes, wasmHeapRoom } from "../backend/wasm-heap-guard";
import type { LayerGroup } from "./layer-groups";
import { TrainingError } from "./training-error";

/** The trainable values at one moment (see `TrainableParameters.snapshot`); owner disposes with disposeSnapshot. */
export type Snapshot = Array<{ tensor: string; rowIds?: number[]; value: tf.Tensor }>;

export function disposeSnapshot(snapshot: Snapshot | undefined): void {
  for (const entry of snapshot ?? []) entry.value.dispose();
}

let nextInstance = 0;

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
  /** The sorted new ids; `runs` are their maximal consecutive stretches [first id, delta row, length]. */
  rows?: { ids: number[]; runs: Array<[number, number, number]> };
  /** Owned by TrainableParameters; the optimizer updates it in place. Name unique among live variables. */
  value: tf.Variable;
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
  private readonly prefix = `tokenlab/train-${nextInstance++}/`;

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
    this.assertHeapRoom(groups);
    const added: TrainableParameter[] = [];
    // Whole tensors first, so a row group of a tensor that is also trained whole is skipped.
    for (const group of [...groups].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "tensors" ? -1 : 1))) {
      if (group.kind === "tensors") {
        for (const name of group.tensors) {
          const existing = this.params.find((p) => p.tensor === name);
          if (existing && !existing.rows) continue;
          // A weight kept 16-bit (loadModel keepBf16) trains as float32.
          const base = this.baseTensor(name);
          const start = existing ? tf.tidy(() => this.composeOne(existing, existing.value)) : this.floatBase(name);
          const value = tf.variable(start, true, this.prefix + name);
          if (start !== base) start.dispose();
          if (existing) this.remove(existing);
          const param: TrainableParameter = { key: name, group: group.name, tensor: name, value, decay: value.rank >= 2 };
          this.params.push(param);
          added.push(param);
        }
      } else if (!this.params.some((p) => p.tensor === group.tensor)) {
        const vocabRows = overlaidRows(this.baseTensor(group.tensor), this.base.overlays.get(group.tensor));
        const ids = [...new Set(group.ids)].sort((a, b) => a - b);
        const bad = ids.filter((id) => !(Number.isInteger(id) && id >= 0 && id < vocabRows));
        if (bad.length > 0) throw new TrainingError(`new token ids outside the ${vocabRows} rows of ${group.tensor}`, { ids: bad });
        const param: TrainableParameter = {
          key: `${group.tensor}[new rows]`,
          group: group.name,
          tensor: group.tensor,
          rows: { ids, runs: consecutiveRuns(ids) },
          value: tf.tidy(() => tf.variable(matrixRows(this.base, group.tensor, ids), true, `${this.prefix}${group.tensor}[new rows]`)),
          decay: false,
        };
        this.params.push(param);
        added.push(param);
      }
    }
    return added;
  }

  /**
   * What `forward` takes: the base weights with whole trainable tensors in place, and the row
   * deltas as overlays on their frozen base matrix (never composed into a vocab-sized copy; the
   * base model's own overlays of that matrix stay under them, see CausalLM.forward).
   */
  compose(): { weights: WeightMap; overlays: Map<string, RowOverlay> } {
    const weights = new Map(this.base.weights);
    const overlays = new Map<string, RowOverlay>();
    for (const param of this.params) {
      if (param.rows) overlays.set(param.tensor, { ids: param.rows.ids, rows: param.value as tf.Tensor as tf.Tensor2D });
      else weights.set(param.tensor, param.value);
    }
    return { weights, overlays };
  }

  /**
   * The current rows `ids` of the [vocabRows, hidden] matrix `name`, float32 [ids, hidden], read
   * from the trained tensor, the row delta or the frozen base, never from a composed vocab-sized
   * copy (for diagnostics such as drift). Call inside tf.tidy.
   */
  rows(name: string, ids: readonly number[]): tf.Tensor {
    const param = this.params.find((p) => p.tensor === name);
    const positions = tf.tensor1d(Int32Array.from(ids), "int32");
    if (param && !param.rows) return tf.gather(param.value, positions);
    // The forward pass's own lookup: base rows (with the base model's overlay), the delta's rows over the new ids.
    return embed(this.baseTensor(name), positions, this.overlayOver(name, param?.rows && { ids: param.rows.ids, rows: param.value as tf.Tensor2D }));
  }

  /** Clones of the current values (cheap: a clone shares memory until the variable is reassigned). */
  snapshot(): Snapshot {
    return this.params.map((p) => ({ tensor: p.tensor, rowIds: p.rows?.ids, value: p.value.clone() }));
  }

  /**
   * The changes that make the base model a trained one (`base.withChanges(...)`): new tensors where
   * a weight trained whole; where rows trained, an overlay of the frozen base matrix (shared, not
   * copied: every untouched row stays bit-identical) holding the trained rows over the base model's
   * own overlay — rounded to bf16 when the base keeps the matrix 16-bit, as a save would round them.
   * The caller owns the new tensors.
   */
  toWeights(snapshot: Snapshot): Required<Pick<ModelChanges, "weights" | "overlays">> {
    const weights = new Map(this.base.weights);
    const overlays = new Map<string, RowOverlay>();
    for (const { tensor, rowIds, value } of snapshot) {
      if (!rowIds) {
        weights.set(tensor, value.clone());
        continue;
      }
      let ids: readonly number[] = rowIds;
      const rows = tf.tidy(() => {
        const overlay = this.overlayOver(tensor, { ids: rowIds, rows: storableRows(this.baseTensor(tensor), value as tf.Tensor2D) })!;
        ids = overlay.ids;
        return overlay.rows;
      });
      overlays.set(tensor, { ids, rows });
    }
    return { weights, overlays };
  }

  dispose(): void {
    for (const param of [...this.params]) this.remove(param);
  }

  /**
   * Base rows and delta rows concatenated in id order: slices of the frozen base between the runs of
   * new ids, slices of the delta for the runs.
   */
  private composeOne(param: TrainableParameter, value: tf.Tensor): tf.Tensor {
    if (!param.rows) return value;
    const base = this.floatBase(param.tensor); // tidy-tracked when widened: composeOne runs inside tf.tidy
    const vocabRows = base.shape[0];
    const pieces: tf.Tensor[] = [];
    let cursor = 0;
    for (const [firstId, deltaRow, length] of param.rows.runs) {
      if (firstId > cursor) pieces.push(tf.slice(base, [cursor, 0], [firstId - cursor, -1]));
      pieces.push(length === value.shape[0] ? value : tf.slice(value, [deltaRow, 0], [length, -1]));
      cursor = firstId + length;
    }
    if (cursor < vocabRows) pieces.push(tf.slice(base, [cursor, 0], [vocabRows - cursor, -1]));
    return pieces.length === 1 ? pieces[0] : tf.concat(pieces, 0);
  }

  /**
   * Refuses at once tensors that start training whole when their float32 values and gradients
   * (8 bytes an element; AdamW's moments live in JS memory) surely do not fit in what the wasm heap
   * has left — full fine-tuning of a 1.2B model kept 16-bit needs ~9 GB — instead of failing after
   * minutes of widening matrices.
   */
  private assertHeapRoom(groups: readonly LayerGroup[]): void {
    const room = wasmHeapRoom();
    if (room === undefined) return;
    const names = new Set(groups.flatMap((g) => (g.kind === "tensors" ? g.tensors : [])).filter((name) => !this.params.some((p) => p.tensor === name && !p.rows)));
    const bytes = 8 * [...names].reduce((sum, name) => sum + weightCount(this.baseTensor(name)), 0);
    if (bytes > room) {
      throw new TrainingError(
        `training ${names.size} tensors whole needs ${gigabytes(bytes)} GB more of the wasm heap (their float32 values and gradients), ` +
          `and at most ${gigabytes(room)} GB of its 4 GB are free: train the new rows (strategy "new-rows"), fewer layer groups ` +
          `(gradual unfreezes from the top blocks), or run the recipe on a GPU (exportRecipe)`,
        { bytes, room, tensors: [...names] },
      );
    }
  }

  private remove(param: TrainableParameter): void {
    param.value.dispose();
    this.params.splice(this.params.indexOf(param), 1);
  }

  /**
   * The base model's matrix `name` whole, in float32: a new tensor, owned by the caller, when the base
   * keeps it packed or has added rows over it (CausalLM.overlays) — then built once, here.
   */
  private floatBase(name: string): tf.Tensor {
    if (!this.base.overlays.has(name)) return unpackedWeight(this.base.layout, name, this.baseTensor(name));
    const stored = materializedMatrix(this.base, name);
    const whole = unpackedWeight(this.base.layout, name, stored);
    if (whole !== stored) stored.dispose();
    return whole;
  }

  /** `delta` over the base model's own overlay of `name` (either may be absent). Call inside tf.tidy. */
  private overlayOver(name: string, delta: RowOverlay | undefined): RowOverlay | undefined {
    const own = this.base.overlays.get(name);
    return own && delta ? mergeOverlays(own, delta) : delta ?? own;
  }

  private baseTensor(name: string): tf.Tensor {
    const tensor = this.base.weights.get(name);
    if (!tensor) throw new TrainingError(`the model has no tensor "${name}"`, { tensor: name });
    return tensor;
  }
}

/** Maximal stretches of consecutive ids in a sorted list: [first id, index in the list, length]. */
function consecutiveRuns(sortedIds: readonly number[]): Array<[number, number, number]> {
  const runs: Array<[number, number, number]> = [];
  sortedIds.forEach((id, j) => {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[2] === id) last[2]++;
    else runs.push([id, j, 1]);
  });
  return runs;
}
