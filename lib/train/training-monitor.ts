import { LiveDisplay } from "../display/live-display";
import { ProgressBar } from "../display/progress-bar";
import type { Displayable } from "../display/mime-bundle";
import { displayIfHosted } from "../runtime/notebook-host";
import type { RunControls } from "./run-controls";
import type { EvalRecord, StepRecord } from "./run-records";

/** What the monitor reads from a run. */
export interface MonitoredRun {
  readonly history: readonly StepRecord[];
  readonly evals: readonly EvalRecord[];
  readonly completedSteps: number;
  summary(): Displayable;
  /** The training chart so far (with the fluctuation warning, which needs the model's vocabulary). */
  chart(): Displayable;
}

/**
 * Live view of one run segment in the notebook: a progress bar with ETA (its own display id),
 * one training chart redrawn in place every `every` steps (one display id, update_display_data),
 * and the summary table when the segment ends. Draws nothing without a notebook host. With `controls`
 * (a host with comms) the progress output also carries the run's Stop / Pause / lr widgets.
 */
export class TrainingMonitor {
  private readonly progress: ProgressBar;
  private readonly progressDisplay = new LiveDisplay({ minIntervalMs: 200 });
  private readonly chartDisplay = new LiveDisplay({ minIntervalMs: 250 });

  constructor(
    private readonly enabled: boolean,
    private readonly firstStep: number,
    lastStep: number,
    private readonly every: number,
    title: string,
    private readonly controls?: RunControls,
  ) {
    this.progress = new ProgressBar({ total: Math.max(1, lastStep - firstStep), label: title, unit: "step" });
  }

  update(run: MonitoredRun): void {
    if (!this.enabled) return;
    const last = run.history[run.history.length - 1];
    const metrics: Record<string, number> = last ? { loss: last.loss, "new-token loss": last.newTokenLoss } : {};
    const lastEval = run.evals[run.evals.length - 1];
    if (lastEval) metrics["eval loss"] = lastEval.loss;
    this.controls?.refresh();
    this.progressDisplay.update(this.framed(this.progress.update(run.completedSteps - this.firstStep, metrics)));
    if ((run.completedSteps - this.firstStep) % this.every === 0) this.chartDisplay.update(run.chart());
  }

  close(run: MonitoredRun): void {
    if (!this.enabled) return;
    this.controls?.refresh();
    this.progressDisplay.update(this.framed(this.progress.update(run.completedSteps - this.firstStep)));
    this.progressDisplay.close();
    if (run.history.length > 0) this.chartDisplay.update(run.chart());
    this.chartDisplay.close();
    displayIfHosted(run.summary());
  }

  private framed(progress: Displayable): Displayable {
    return this.controls ? this.controls.around(progress) : progress;
  }
}
