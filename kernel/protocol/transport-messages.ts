import type { Channel, JupyterMessage, OutgoingMessage } from "./message";

/** Messages between the main thread and the socket worker (structured-clone friendly). */
export type WorkerToMain =
  | { kind: "ready" }
  | { kind: "failed"; error: string }
  | { kind: "closed" }
  | { kind: "message"; channel: Exclude<Channel, "iopub">; identities: Buffer[]; message: JupyterMessage };

export type MainToWorker = { kind: "send"; message: OutgoingMessage } | { kind: "close" };
