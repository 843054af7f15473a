import { TrainingError } from "./training-error";

/**
 * A learning-rate schedule: step (0-based) → factor multiplied into every group's base learning
 * rate, so per-group rates keep their ratios. Pure functions, as in nanoGPT's `get_lr`.
 */
export type LrSchedule = (step: number) => number;

export function constantSchedule(): LrSchedule {
  return () => 1;
}

export interface WarmupCosineOptions {
  /** Linear ramp from 1/warmupSteps to 1 over the first steps (0 = none). */
  warmupSteps: number;
  /** Step at which the cosine reaches `minFactor`; later steps stay there. */
  totalSteps: number;
  /** Floor of the decay as a fraction of the base rate (nanoGPT uses 0.1). */
  minFactor?: number;
}

/** Linear warmup, then cosine decay from 1 to `minFactor` at `totalSteps`. */
export function warmupCosineSchedule({ warmupSteps, totalSteps, minFactor = 0.1 }: WarmupCosineOptions): LrSchedule {
  if (!(warmupSteps >= 0) || !(totalSteps > 0) || warmupSteps > totalSteps) {
    throw new TrainingError("warmup+cosine needs 0 ≤ warmupSteps ≤ totalSteps and totalSteps > 0", {
      warmupSteps,
      totalSteps,
    });
  }
  return (step) => {
    if (step < warmupSteps) return (step + 1) / warmupSteps;
    if (step >= totalSteps) return minFactor;
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return minFactor + 0.5 * (1 + Math.cos(Math.PI * progress)) * (1 - minFactor);
  };
}

/** Best eval loss seen so far and how many evals in a row failed to beat it by `minDelta`. */
export interface PlateauState {
  best: number;
  bestStep: number;
  evalsWithoutImprovement: number;
}

export const initialPlateauState: PlateauState = { best: Infinity, bestStep: -1, evalsWithoutImprovement: 0 };

/** Folds one eval loss into the plateau state (shared by early stopping and unfreeze-on-plateau). */
export function updatePlateau(state: PlateauState, step: number, loss: number, minDelta = 0): PlateauState {
  if (loss < state.best - minDelta) return { best: loss, bestStep: step, evalsWithoutImprovement: 0 };
  return { ...state, evalsWithoutImprovement: state.evalsWithoutImprovement + 1 };
}
