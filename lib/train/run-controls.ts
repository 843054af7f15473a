import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display/mime-bundle";
import { formatNumber } from "../display/text-format";
import { notebookHost } from "../runtime/notebook-host";
import { Button, FloatText, HTML, hbox, vbox, type Box } from "../widgets/controls";
import { WIDGET_VIEW_MIME } from "../widgets/widget";
import type { RunStatus } from "./run-records";

/** What the controls drive: the Run's own methods, so a click does exactly what code could do. */
export interface ControlledRun {
  readonly status: RunStatus;
  readonly paused: boolean;
  readonly completedSteps: number;
  readonly learningRate: number;
  stop(): void;
  pause(): void;
  resume(): unknown;
  setLearningRate(lr: number): void;
}

/**
 * Stop, Pause/Resume and a learning-rate field above a run's progress bar. Clicks arrive as comm
 * messages while the training cell runs (the run yields to the event loop between steps and the
 * kernel handles comm messages at once while a cell awaits); they act at the next step boundary.
 * The buttons follow the run: disabled once it has ended. Exists only where the notebook host has
 * comms; elsewhere the progress bar shows alone.
 */
export class RunControls {
  readonly stopButton = new Button({ description: "Stop", button_style: "danger", icon: "stop", tooltip: "stop at the next step boundary; the run keeps its weights" });
  readonly pauseButton = new Button({ description: "Pause", icon: "pause", tooltip: "wait at the next step boundary" });
  readonly lrField: FloatText;
  readonly statusLabel = new HTML({ value: "" });
  readonly progress = new HTML({ value: "" });
  readonly view: Box;
  private stopping = false;

  private constructor(private readonly run: ControlledRun) {
    this.lrField = new FloatText({ description: "lr", value: run.learningRate, layout: { width: "190px" }, tooltip: "base learning rate from the next step on (Enter to apply)" });
    this.view = vbox([hbox([this.stopButton, this.pauseButton, this.lrField, this.statusLabel], { layout: { align_items: "center" } }), this.progress]);
    this.stopButton.onClick(() => {
      this.stopping = true;
      run.stop();
      this.refresh();
    });
    this.pauseButton.onClick(() => {
      if (run.paused) run.resume();
      else if (run.status === "running") run.pause();
      this.refresh();
    });
    this.lrField.on("value", (change) => {
      try {
        run.setLearningRate(change.new as number);
      } catch {
        this.lrField.set({ value: run.learningRate }); // refused (≤ 0, NaN): show the rate in force
      }
      this.refresh();
    });
    this.refresh();
  }

  /** Controls for `run`, or undefined where the notebook host has no comms (no widgets possible). */
  static forRun(run: ControlledRun): RunControls | undefined {
    return notebookHost()?.comms ? new RunControls(run) : undefined;
  }

  /** Brings buttons and status in line with the run (only changed keys reach the frontend). */
  refresh(): void {
    const { run } = this;
    const running = run.status === "running";
    this.stopButton.set({ disabled: !running || this.stopping });
    this.pauseButton.set({ disabled: !running || this.stopping, description: run.paused ? "Resume" : "Pause", icon: run.paused ? "play" : "pause" });
    this.lrField.set({ disabled: !running });
    const status = !running ? `${run.status} at step ${run.completedSteps}` : this.stopping ? "stopping…" : run.paused ? `paused at step ${run.completedSteps}` : `running · lr ${formatNumber(run.learningRate)}`;
    this.statusLabel.set({ value: `<span class="tokenlab-run-status">${status}</span>` });
  }

  /**
   * `progress` with the controls: its own bundle for frontends without widgets (and saved outputs),
   * plus the widget view, whose progress area shows the same HTML.
   */
  around(progress: Displayable): Displayable {
    return {
      [JUPYTER_DISPLAY]: (): MimeBundle => {
        const bundle = progress[JUPYTER_DISPLAY]();
        this.progress.set({ value: String(bundle["text/html"] ?? "") });
        return { ...bundle, [WIDGET_VIEW_MIME]: this.view[JUPYTER_DISPLAY]()[WIDGET_VIEW_MIME] };
      },
    };
  }
}
