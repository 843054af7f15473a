import type { PackedSequence } from "./pack";
import { seededRandom, shuffled } from "../random/seeded-random";

/**
 * The rows of epoch `epoch` grouped into batches, in an order fixed by (seed, epoch): runs with the
 * same seed see the same batches, and a resumed run continues the same sequence. The last batch of
 * an epoch may be smaller.
 */
export function epochBatches(rows: readonly PackedSequence[], batchSize: number, seed: number, epoch: number): PackedSequence[][] {
  const order = shuffled(rows, seededRandom(seed * 7919 + epoch));
  const batches: PackedSequence[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/**
 * The batch used at global step `step` (epochs follow each other without gaps). Keeps the current
 * epoch's batches, so consecutive steps do not reshuffle.
 */
export class BatchSchedule {
  private cached?: { epoch: number; batches: PackedSequence[][] };

  constructor(
    private readonly rows: readonly PackedSequence[],
    private readonly batchSize: number,
    private readonly seed: number,
  ) {}

  at(step: number): PackedSequence[] {
    const perEpoch = Math.ceil(this.rows.length / this.batchSize);
    const epoch = Math.floor(step / perEpoch);
    if (this.cached?.epoch !== epoch) this.cached = { epoch, batches: epochBatches(this.rows, this.batchSize, this.seed, epoch) };
    return this.cached.batches[step % perEpoch];
  }
}
