import type { MessageHeader } from "../protocol/message";
import { InterruptError } from "../execution/interrupt-error";

/**
 * One execute_request while it runs: the AbortSignal lib/ code watches, the `stop` promise
 * that ends the cell's pending await on interrupt or when a callback it started throws, and
 * `ended`, which resolves once the cell's run is over, whatever ended it.
 */
export class RunningCell {
  readonly controller = new AbortController();
  readonly stop: Promise<never>;
  readonly ended: Promise<void>;
  private rejectStop!: (reason: unknown) => void;
  private resolveEnded!: () => void;

  constructor(
    readonly request: MessageHeader,
    readonly identities: Buffer[],
    readonly allowStdin: boolean,
    readonly executionCount: number,
  ) {
    this.stop = new Promise<never>((_, reject) => (this.rejectStop = reject));
    this.stop.catch(() => undefined); // observed through Promise.race in the executor
    this.ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));
  }

  interrupt(): void {
    const error = new InterruptError({ cell: this.executionCount });
    this.controller.abort(error);
    this.rejectStop(error);
  }

  failAsync(error: unknown): void {
    this.rejectStop(error);
  }

  /** Called by executeCell when the cell's run is over (returned, failed or interrupted). */
  finish(): void {
    this.resolveEnded();
  }
}
