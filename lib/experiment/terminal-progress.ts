import { ProgressBar } from "../display/progress-bar";
import type { StepRecord } from "../train/run-records";

/** Where progress goes: stderr in the CLI. `isTTY` decides between a redrawn bar and plain lines. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * A progress bar with ETA for a terminal: redrawn in place (carriage return) at most 10 times a
 * second on a TTY; one plain line every `every` steps otherwise (logs of batch jobs stay readable).
 */
export class TerminalProgress {
  private readonly bar: ProgressBar;
  private lastDraw = -Infinity;

  constructor(
    private readonly stream: ProgressStream,
    private readonly firstStep: number,
    totalSteps: number,
    private readonly every: number,
    label: string,
  ) {
    this.bar = new ProgressBar({ total: Math.max(1, totalSteps - firstStep), label, unit: "step" });
  }

  update(record: StepRecord, evalLoss: number | undefined): void {
    const metrics: Record<string, number> = { loss: record.loss, "new-token loss": record.newTokenLoss };
    if (evalLoss !== undefined) metrics["eval loss"] = evalLoss;
    this.bar.update(record.step - this.firstStep, metrics);
    if (this.stream.isTTY) {
      const now = performance.now();
      if (now - this.lastDraw < 100 && this.bar.completed < this.bar.total) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.bar.toString()}\x1b[K`);
    } else if (record.step % this.every === 0 || this.bar.completed === this.bar.total) {
      this.stream.write(`step ${record.step}: ${this.bar.toString()}\n`);
    }
  }

  /** Ends the redrawn line so what follows starts on its own. */
  close(): void {
    if (this.stream.isTTY && this.lastDraw > -Infinity) this.stream.write("\n");
  }
}
