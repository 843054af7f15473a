/** What a run records; plain data so charts, tables and tests read it without tensors. */

/** One optimization step (`step` = number of steps completed, 1-based). */
export interface StepRecord {
  step: number;
  /** Mean loss over all target positions of the batch. */
  loss: number;
  /** Mean loss over positions whose target is a new token (NaN when the batch has none). */
  newTokenLoss: number;
  /** Mean loss over the other target positions (NaN when there are none). */
  otherLoss: number;
  /** Base learning rate after the schedule (each group's rate keeps its ratio to it). */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Gradient norm of each training layer group before clipping. */
  gradNorms: Record<string, number>;
  /** Seconds since the run (segment) started. */
  seconds: number;
}

export interface EvalRecord {
  step: number;
  loss: number;
  newTokenLoss: number;
  otherLoss: number;
}

export interface RunEvent {
  step: number;
  kind: "unfreeze" | "best" | "early-stop" | "stopped" | "interrupted" | "failed" | "completed" | "resumed" | "paused" | "lr";
  message: string;
  groups?: string[];
}

/** `completed`: all steps ran; `early-stopped`: eval loss stopped improving; `stopped`: run.stop();
 * `interrupted`: the notebook interrupt or options.signal; `failed`: an error (see run.error). */
export type RunStatus = "running" | "completed" | "early-stopped" | "stopped" | "interrupted" | "failed";
