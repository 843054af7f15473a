import { IGNORE_INDEX } from "../data/pack";

/** Mean losses over target positions, split by whether the target is one of the new tokens. */
export interface LossSplit {
  /** Mean over all target positions (what the gradient follows). */
  all: number;
  /** Mean over positions whose target is a new token (NaN when there are none). */
  newTokens: number;
  /** Mean over the other target positions (NaN when there are none). */
  other: number;
  newCount: number;
  otherCount: number;
}

/**
 * Splits per-position losses (row-major [batch, seq], 0 or anything at ignored positions) by the
 * label at each position. Computed on the CPU from the downloaded per-position losses, so it costs
 * no extra forward pass.
 */
export function splitLoss(perPosition: ArrayLike<number>, labels: readonly number[], newIds: ReadonlySet<number>): LossSplit {
  let newSum = 0;
  let otherSum = 0;
  let newCount = 0;
  let otherCount = 0;
  labels.forEach((label, i) => {
    if (label === IGNORE_INDEX) return;
    if (newIds.has(label)) {
      newSum += perPosition[i];
      newCount++;
    } else {
      otherSum += perPosition[i];
      otherCount++;
    }
  });
  return fromSums(newSum, newCount, otherSum, otherCount);
}

/** Combines splits of several batches into one (weighted by position counts). */
export function mergeLossSplits(splits: readonly LossSplit[]): LossSplit {
  let newSum = 0;
  let otherSum = 0;
  let newCount = 0;
  let otherCount = 0;
  for (const s of splits) {
    if (s.newCount > 0) newSum += s.newTokens * s.newCount;
    if (s.otherCount > 0) otherSum += s.other * s.otherCount;
    newCount += s.newCount;
    otherCount += s.otherCount;
  }
  return fromSums(newSum, newCount, otherSum, otherCount);
}

function fromSums(newSum: number, newCount: number, otherSum: number, otherCount: number): LossSplit {
  const count = newCount + otherCount;
  return {
    all: count === 0 ? NaN : (newSum + otherSum) / count,
    newTokens: newCount === 0 ? NaN : newSum / newCount,
    other: otherCount === 0 ? NaN : otherSum / otherCount,
    newCount,
    otherCount,
  };
}
