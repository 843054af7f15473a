import type { Channel, JupyterMessage, MessageHeader, OutgoingMessage } from "./message";

/** Messages between the main thread and the socket worker (structured-clone friendly). */
export type WorkerToMain =
  | { kind: "ready" }
  | { kind: "failed"; error: string }
  | { kind: "closed" }
  | { kind: "ping"; sequence: number }
  | { kind: "message"; channel: Exclude<Channel, "iopub">; identities: Buffer[]; message: JupyterMessage<unknown> };

export type MainToWorker =
  | { kind: "send"; message: OutgoingMessage }
  | { kind: "close" }
  | { kind: "pong"; sequence: number }
  /** Which cell's own code runs on the main thread now (null: none), for RunawayCellStopper. */
  | { kind: "user-code"; cell: MessageHeader | null };
