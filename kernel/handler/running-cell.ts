import type { MessageHeader } from "../protocol/message";
import { InterruptError } from "../execution/interrupt-error";

/**
 * One execute_request while it runs: the AbortSignal lib/ code watches, and the `stop` promise
 * that ends the cell's pending await on interrupt or when a callback it started throws.
 */
export class RunningCell {
  readonly controller = new AbortController();
  readonly stop: Promise<never>;
  private rejectStop!: (reason: unknown) => void;

  constructor(
    readonly request: MessageHeader,
    readonly identities: Buffer[],
    readonly allowStdin: boolean,
    readonly executionCount: number,
  ) {
    this.stop = new Promise<never>((_, reject) => (this.rejectStop = reject));
    this.stop.catch(() => undefined); // observed through Promise.race in the executor
  }

  interrupt(): void {
    const error = new InterruptError({ cell: this.executionCount });
    this.controller.abort(error);
    this.rejectStop(error);
  }

  failAsync(error: unknown): void {
    this.rejectStop(error);
  }
}
