import { initialPlateauState, updatePlateau, type PlateauState } from "./schedules";
import { TrainingError } from "./training-error";

/**
 * When gradual unfreezing opens the next stage of layer groups.
 * - `every: N` — a new stage at steps N, 2N, 3N, … (counted from the start of the run);
 * - `onPlateau: {patience}` — a new stage after `patience` evals in a row without eval-loss
 *   improvement (by more than `minDelta`); the plateau count restarts after each unfreeze.
 * Both may be given; whichever comes first opens the next stage.
 */
export interface UnfreezeTrigger {
  every?: number;
  onPlateau?: { patience: number; minDelta?: number };
}

export interface UnfreezeState {
  /** Stages opened so far (0 = only the groups trained from the start). */
  stagesOpened: number;
  plateau: PlateauState;
}

export const initialUnfreezeState: UnfreezeState = { stagesOpened: 0, plateau: initialPlateauState };

/**
 * The unfreezing schedule as a pure reducer: given the state, the step just finished and (when this
 * step evaluated) its eval loss, returns the new state and how many stages to open now (0 or 1).
 * `stageCount` is the number of stages after the initial groups; nothing opens beyond it.
 */
export function stepUnfreeze(
  state: UnfreezeState,
  trigger: UnfreezeTrigger,
  stageCount: number,
  completedSteps: number,
  evalLoss?: number,
): { state: UnfreezeState; open: boolean } {
  validateTrigger(trigger);
  let plateau = state.plateau;
  if (evalLoss !== undefined) plateau = updatePlateau(plateau, completedSteps, evalLoss, trigger.onPlateau?.minDelta);
  if (state.stagesOpened >= stageCount) return { state: { ...state, plateau }, open: false };
  const byCount = trigger.every !== undefined && completedSteps > 0 && completedSteps % trigger.every === 0;
  const byPlateau =
    trigger.onPlateau !== undefined && evalLoss !== undefined && plateau.evalsWithoutImprovement >= trigger.onPlateau.patience;
  if (!byCount && !byPlateau) return { state: { ...state, plateau }, open: false };
  // After opening a stage the loss landscape changes: start counting a fresh plateau from here.
  const restarted: PlateauState = { best: plateau.best, bestStep: plateau.bestStep, evalsWithoutImprovement: 0 };
  return { state: { stagesOpened: state.stagesOpened + 1, plateau: restarted }, open: true };
}

function validateTrigger(trigger: UnfreezeTrigger): void {
  if (trigger.every === undefined && trigger.onPlateau === undefined) {
    throw new TrainingError("gradual unfreezing needs `every` (steps) or `onPlateau` ({patience})", { trigger });
  }
  if (trigger.every !== undefined && !(Number.isInteger(trigger.every) && trigger.every > 0)) {
    throw new TrainingError("unfreeze `every` must be a positive integer", { every: trigger.every });
  }
  if (trigger.onPlateau !== undefined && !(trigger.onPlateau.patience >= 1)) {
    throw new TrainingError("unfreeze `onPlateau.patience` must be ≥ 1", { patience: trigger.onPlateau.patience });
  }
}

/**
 * Default stages for gradual unfreezing, top of the model first: the last block together with the
 * final norm, then each block below it down to block 0 (as selectors for `selectGroups`).
 */
export function topDownStages(numBlocks: number): string[][] {
  const stages: string[][] = [];
  for (let i = numBlocks - 1; i >= 0; i--) stages.push(i === numBlocks - 1 ? [`block.${i}`, "norm.final"] : [`block.${i}`]);
  return stages;
}
