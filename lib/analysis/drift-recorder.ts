import * as tf from "@tensorflow/tfjs-core";
import { seededRandom, shuffled } from "../random/seeded-random";

/** Embedding rows at one step: `rows` is [newIds.length + sampleIds.length, hidden], new tokens first. */
export interface DriftCheckpoint {
  step: number;
  rows: Float32Array;
}

/**
 * Records the input-embedding rows of the new tokens and of a fixed random sample of existing
 * tokens during training (CPU copies, so memory is checkpoints × (k + sample) × hidden floats).
 * Step 0 is the initialization; later checkpoints every `every` steps and at the end of a run.
 */
export class DriftRecorder {
  readonly checkpoints: DriftCheckpoint[] = [];

  constructor(
    readonly newIds: readonly number[],
    readonly sampleIds: readonly number[],
    readonly hidden: number,
    readonly every: number,
  ) {}

  /** Samples `sampleCount` existing token ids (below `tokenRows`, not new) with a fixed seed. */
  static sampleExisting(tokenRows: number, newIds: readonly number[], sampleCount: number, seed: number): number[] {
    const exclude = new Set(newIds);
    const candidates = Array.from({ length: tokenRows }, (_, i) => i).filter((i) => !exclude.has(i));
    return shuffled(candidates, seededRandom(seed + 0x5eed)).slice(0, sampleCount).sort((a, b) => a - b);
  }

  /**
   * Records the current embedding rows at `step`: `rowsOf(ids)` returns them as [ids, hidden] (so the
   * caller never has to build the whole matrix: at 128k × 2048 that is 1 GB of the wasm heap).
   */
  record(step: number, rowsOf: (ids: number[]) => tf.Tensor): void {
    if (this.checkpoints.length > 0 && this.checkpoints[this.checkpoints.length - 1].step === step) return;
    const rows = tf.tidy(() => rowsOf([...this.newIds, ...this.sampleIds]));
    this.checkpoints.push({ step, rows: Float32Array.from(rows.dataSync() as Float32Array) });
    rows.dispose();
  }

  /** Whether `step` is a scheduled checkpoint. */
  due(step: number): boolean {
    return this.every > 0 && step % this.every === 0;
  }

  /** Row of token `id` (a new or sampled id) at checkpoint `index`. */
  row(index: number, id: number): Float32Array {
    const position = [...this.newIds, ...this.sampleIds].indexOf(id);
    if (position < 0) throw new RangeError(`token ${id} is not recorded for drift`);
    return this.checkpoints[index].rows.subarray(position * this.hidden, (position + 1) * this.hidden);
  }
}
