import type { MimeBundle } from "../display/mime-bundle";

/**
 * What a notebook kernel offers to library code while a cell runs. The tokenlab kernel installs
 * one on `globalThis` under NOTEBOOK_HOST; lib/ reads it through `notebookHost()` and so never
 * imports kernel/. In a plain Node script there is no host and lib/ falls back to quiet defaults.
 */
export interface NotebookHost {
  /** Sends display_data, or update_display_data when `update` is set for an existing `id`. */
  display(value: unknown, options?: DisplayOptions): void;
  clearOutput(wait?: boolean): void;
  /** Aborted when the user interrupts the cell that is running now (a fresh signal per cell). */
  readonly signal: AbortSignal;
  /** Comms with the frontend (ipywidgets plumbing); absent in hosts without comm support. */
  readonly comms?: NotebookComms;
}

/** Registers comm targets the frontend can open, and opens comms from the kernel side. */
export interface NotebookComms {
  registerTarget(targetName: string, handler: CommTargetHandler): void;
  open(targetName: string, data?: unknown, metadata?: Record<string, unknown>, buffers?: Buffer[]): Comm;
}

export type CommTargetHandler = (comm: Comm, data: unknown, buffers: Buffer[]) => void;

/** One open comm; messages go to the frontend on iopub with the running cell as parent. */
export interface Comm {
  readonly commId: string;
  readonly targetName: string;
  send(data: unknown, metadata?: Record<string, unknown>, buffers?: Buffer[]): void;
  close(data?: unknown): void;
  onMessage(handler: (data: unknown, buffers: Buffer[]) => void): void;
  onClose(handler: (data: unknown) => void): void;
}

export interface DisplayOptions {
  id?: string;
  update?: boolean;
}

export const NOTEBOOK_HOST: unique symbol = Symbol.for("tokenlab.notebookHost") as never;

export function notebookHost(): NotebookHost | undefined {
  return (globalThis as { [NOTEBOOK_HOST]?: NotebookHost })[NOTEBOOK_HOST];
}

/** Shows `bundle` through the host if there is one; returns whether it was shown. */
export function displayIfHosted(value: unknown | MimeBundle, options?: DisplayOptions): boolean {
  const host = notebookHost();
  if (!host) return false;
  host.display(value, options);
  return true;
}
