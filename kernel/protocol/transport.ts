import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { ConnectionInfo } from "./connection-file";
import type { Channel, JupyterMessage, MessageHeader, OutgoingMessage } from "./message";
import type { MainToWorker, WorkerToMain } from "./transport-messages";
import { TransportError } from "./transport-error";

export interface IncomingMessage {
  channel: Exclude<Channel, "iopub">;
  identities: Buffer[];
  message: JupyterMessage<unknown>;
}

/**
 * The main thread's view of the sockets, which live in a worker thread (see transport-worker.ts).
 * Incoming messages arrive already verified; outgoing ones are signed in the worker.
 */
export class KernelTransport {
  private handler: ((incoming: IncomingMessage) => void) | undefined;
  /** Messages that arrived before `listen` was called. */
  private readonly waiting: IncomingMessage[] = [];

  private constructor(private readonly worker: Worker) {}

  /**
   * Starts the socket worker and resolves once the sockets are bound. The worker boots on its own
   * thread (tsx, zeromq: most of a second), so the caller can load the rest of the kernel meanwhile.
   */
  static async start(connection: ConnectionInfo): Promise<KernelTransport> {
    // The worker is a .ts file: register tsx inside it before loading it.
    // Eval'd worker code resolves from the process's cwd (the notebook's), so pass absolute paths.
    const workerPath = require.resolve("./transport-worker");
    const tsxPath = require.resolve("tsx/cjs");
    const transport = new KernelTransport(
      new Worker(`require(${JSON.stringify(tsxPath)}); require(${JSON.stringify(workerPath)});`, {
        eval: true,
        workerData: { connection, session: randomUUID() } /* one session per kernel process */,
        stdout: false,
        stderr: false,
      }),
    );
    await new Promise<void>((resolve, reject) => {
      transport.worker.on("message", (message: WorkerToMain) => {
        if (message.kind === "ready") resolve();
        else if (message.kind === "failed") reject(new TransportError("cannot bind the kernel sockets", { error: message.error }));
        else if (message.kind === "ping") transport.worker.postMessage({ kind: "pong", sequence: message.sequence } satisfies MainToWorker);
        else if (message.kind === "message") {
          const incoming: IncomingMessage = {
            channel: message.channel,
            identities: message.identities.map((identity) => Buffer.from(identity)),
            message: { ...message.message, buffers: message.message.buffers.map((buffer) => Buffer.from(buffer)) },
          };
          if (transport.handler) transport.handler(incoming);
          else transport.waiting.push(incoming);
        }
      });
      transport.worker.once("error", reject);
    });
    return transport;
  }

  /** Hands every incoming message to `handler`, starting with those that came before. */
  listen(handler: (incoming: IncomingMessage) => void): void {
    this.handler = handler;
    for (const incoming of this.waiting.splice(0)) handler(incoming);
  }

  send(message: OutgoingMessage): void {
    this.worker.postMessage({ kind: "send", message } satisfies MainToWorker);
  }

  /** Tells the socket worker which cell's own code runs now (null: none); see RunawayCellStopper. */
  userCode(cell: MessageHeader | null): void {
    this.worker.postMessage({ kind: "user-code", cell } satisfies MainToWorker);
  }

  /** Flushes pending sends, closes every socket and ends the worker. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      this.worker.on("message", (message: WorkerToMain) => {
        if (message.kind === "closed") resolve();
      });
    });
    this.worker.postMessage({ kind: "close" } satisfies MainToWorker);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await this.worker.terminate();
  }
}
