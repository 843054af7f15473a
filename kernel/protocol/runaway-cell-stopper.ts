import { Session } from "node:inspector";
import type { MessageHeader } from "./message";

/** How long a cell may keep the main thread after an interrupt before its JavaScript is terminated. */
export const DEFAULT_HARD_STOP_MS = 5000;

export function hardStopDelayFromEnvironment(value = process.env.TOKENLAB_HARD_STOP_MS): number {
  const parsed = value === undefined ? NaN : Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : DEFAULT_HARD_STOP_MS;
}

/** Main-thread function the worker calls while the main thread is paused; see RunawayCellStopper. */
const PREPARE_HARD_STOP = Symbol.for("tokenlab.prepareHardStop");

/**
 * Main thread: installs the function that says whether a cell's own code is running and, if so,
 * empties Node's async-id stack. Terminating JavaScript skips the async hooks' "after" callbacks,
 * and with AsyncLocalStorage in use Node aborts the process when the stack is not empty at the
 * end of the callback. Returns the setter the executor calls when a cell's code starts and ends.
 */
export function installHardStopPreparation(): (running: boolean) => void {
  let userCodeRunning = false;
  // process.binding("async_wrap") is the one public door to clearAsyncIdStack; quiet its
  // deprecation warning, which would land in the cell's output.
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  const asyncWrap = (process as unknown as { binding(name: string): { clearAsyncIdStack(): void } }).binding("async_wrap");
  process.noDeprecation = quiet;
  (globalThis as Record<symbol, unknown>)[PREPARE_HARD_STOP] = (): boolean => {
    if (userCodeRunning) asyncWrap.clearAsyncIdStack();
    return userCodeRunning;
  };
  return (running) => (userCodeRunning = running);
}

export interface RunawayCellHooks {
  /** Asks the main thread to answer; its answer comes back through `answered`. */
  ping(sequence: number): void;
  /** Called after the main thread's JavaScript was terminated, with the cell's request. */
  terminated(cell: MessageHeader, delayMs: number): void;
  /** Reports a hard stop that could not be made (to the kernel log, not to the cell). */
  failed(reason: string): void;
}

/**
 * The last resort behind an interrupt, living in the socket worker. SIGINT breaks a synchronous
 * loop only while the cell's first synchronous part runs (vm's breakOnSigint); code after the
 * cell's first `await` runs as a microtask that nothing else can stop. If the main thread still
 * does not answer a ping `delayMs` after the interrupt while a cell's own code runs, the worker
 * pauses it through the inspector, checks that a cell's code is what runs, and has V8 terminate
 * the running JavaScript. V8 cancels the termination once the stack has unwound, so the kernel
 * goes on; the terminated code's `finally` blocks do not run. Training loops are not hit: they
 * answer between steps and stop at a step boundary through the AbortSignal.
 */
export class RunawayCellStopper {
  private readonly inspector: Session | undefined;
  private runningCell: MessageHeader | null = null;
  private sent = 0;
  private answeredUpTo = 0;

  constructor(
    private readonly delayMs: number,
    private readonly hooks: RunawayCellHooks,
  ) {
    if (delayMs === 0) return;
    // Attach now: attaching is handled by the main thread, which may be blocked later.
    const inspector = new Session();
    inspector.connectToMainThread();
    this.inspector = inspector;
  }

  /** The main thread says which cell's own code runs now (null: none). */
  userCode(cell: MessageHeader | null): void {
    this.runningCell = cell;
  }

  answered(sequence: number): void {
    this.answeredUpTo = Math.max(this.answeredUpTo, sequence);
  }

  /** Called on every interrupt, after SIGINT was raised. */
  interrupted(): void {
    const cell = this.runningCell;
    if (!cell || !this.inspector) return;
    const sequence = ++this.sent;
    this.hooks.ping(sequence);
    setTimeout(() => {
      // An answer means the event loop turned, so the interrupt was delivered as usual.
      if (this.answeredUpTo >= sequence || this.runningCell !== cell) return;
      this.terminate(cell).catch((error: unknown) => this.hooks.failed(`hard stop failed: ${String(error)}`));
    }, this.delayMs).unref();
  }

  private async terminate(cell: MessageHeader): Promise<void> {
    const inspector = this.inspector!;
    const post = (method: string, params: object = {}) =>
      new Promise<unknown>((resolve, reject) => inspector.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
    const paused = new Promise<{ params: { callFrames: { callFrameId: string }[] } }>((resolve) => inspector.once("Debugger.paused", resolve));
    await post("Debugger.enable");
    try {
      await post("Debugger.pause");
      const { params } = await paused;
      const answer = (await post("Debugger.evaluateOnCallFrame", {
        callFrameId: params.callFrames[0]!.callFrameId,
        expression: `globalThis[Symbol.for(${JSON.stringify(PREPARE_HARD_STOP.description)})]()`,
        returnByValue: true,
      })) as { result: { value?: unknown } };
      // Termination completes only once the paused code resumes, so its answer is awaited after.
      const terminated = answer.result.value === true ? post("Runtime.terminateExecution") : undefined;
      await post("Debugger.resume");
      if (terminated) {
        await terminated;
        this.hooks.terminated(cell, this.delayMs);
      }
    } finally {
      await post("Debugger.disable");
    }
  }

  close(): void {
    this.inspector?.disconnect();
  }
}
