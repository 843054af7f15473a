import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";
import { endpoint, type ConnectionInfo } from "./connection-file";
import type { Channel, JupyterMessage, OutgoingMessage } from "./message";
import { decodeMessage, encodeMessage, makeHeader } from "./wire";
import { hardStopDelayFromEnvironment, RunawayCellStopper } from "./runaway-cell-stopper";
import type { MainToWorker, WorkerToMain } from "./transport-messages";

/**
 * Runs in a worker thread so that sockets stay responsive while a cell blocks the main thread:
 * the heartbeat keeps answering and an interrupt_request can still raise SIGINT, which breaks a
 * synchronous loop in the cell (vm's breakOnSigint), or else terminate a cell that runs away
 * (RunawayCellStopper). Everything else is verified here and handed
 * to the main thread.
 */
const connection = (workerData as { connection: ConnectionInfo }).connection;
const session = (workerData as { session: string }).session;
const port = parentPort!;

const shell = new zmq.Router();
const control = new zmq.Router();
const stdin = new zmq.Router();
const iopub = new zmq.Publisher();
const heartbeat = new zmq.Reply();
const routers: Record<Exclude<Channel, "iopub">, zmq.Router> = { shell, control, stdin };

function log(line: string): void {
  // Straight to fd 2: the main thread captures process.stderr into cell output.
  writeSync(2, `[tokenlab kernel] ${line}\n`);
}

function post(message: WorkerToMain): void {
  port.postMessage(message);
}

async function send(out: OutgoingMessage): Promise<void> {
  const message: JupyterMessage = {
    header: { ...makeHeader(out.msgType, session), ...(out.msgId ? { msg_id: out.msgId } : {}) },
    parent_header: out.parent ?? {},
    metadata: out.metadata ?? {},
    content: out.content,
    buffers: (out.buffers ?? []).map((buffer) => Buffer.from(buffer)),
  };
  if (out.channel === "iopub") {
    await iopub.send(encodeMessage(message, connection.key, [Buffer.from(out.msgType)]));
  } else {
    const identities = (out.identities ?? []).map((identity) => Buffer.from(identity));
    await routers[out.channel].send(encodeMessage(message, connection.key, identities));
  }
}

// Sends are serialized per process: zeromq 6 rejects a send while another is pending on a socket.
let sending: Promise<void> = Promise.resolve();
function enqueueSend(out: OutgoingMessage): Promise<void> {
  sending = sending.then(() => send(out)).catch((error: unknown) => log(`send failed: ${String(error)}`));
  return sending;
}

const runawayCells = new RunawayCellStopper(hardStopDelayFromEnvironment(), {
  ping: (sequence) => post({ kind: "ping", sequence }),
  terminated: (cell, delayMs) => {
    const text =
      `The cell did not stop within ${delayMs / 1000} s of the interrupt, so its JavaScript was terminated ` +
      "(finally blocks in it did not run; an object it was changing may be half-changed).\n";
    log(`terminated the JavaScript of ${cell.msg_id} after an interrupt`);
    void enqueueSend({ channel: "iopub", msgType: "stream", content: { name: "stderr", text }, parent: cell });
  },
  failed: log,
});

/** Interrupts are answered here because the main thread may be stuck in the very loop to break. */
async function answerInterrupt(identities: Buffer[], request: JupyterMessage<unknown>): Promise<void> {
  const parent = request.header;
  await enqueueSend({ channel: "iopub", msgType: "status", content: { execution_state: "busy" }, parent });
  process.kill(process.pid, "SIGINT");
  runawayCells.interrupted();
  await enqueueSend({ channel: "control", msgType: "interrupt_reply", content: { status: "ok" }, parent, identities });
  await enqueueSend({ channel: "iopub", msgType: "status", content: { execution_state: "idle" }, parent });
}

/**
 * One loop per socket. A failure while handling one message (a malformed or hostile one) is logged
 * and the loop reads on: an ended control loop would leave interrupts unread for good.
 */
async function receiveLoop(channel: Exclude<Channel, "iopub">): Promise<void> {
  for await (const frames of routers[channel]) {
    try {
      await receive(channel, frames);
    } catch (error) {
      log(`dropped a ${channel} message: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

async function receive(channel: Exclude<Channel, "iopub">, frames: Buffer[]): Promise<void> {
  const decoded = decodeMessage(frames, connection.key);
  const msgType = decoded.message.header.msg_type;
  if (channel === "control" && msgType === "interrupt_request") {
    await answerInterrupt(decoded.identities, decoded.message);
    return;
  }
  // A shutdown must not wait behind a synchronous loop: break it first (the cell ends as interrupted).
  if (channel === "control" && msgType === "shutdown_request") {
    process.kill(process.pid, "SIGINT");
    runawayCells.interrupted();
  }
  post({ kind: "message", channel, identities: decoded.identities, message: decoded.message });
}

async function heartbeatLoop(): Promise<void> {
  for await (const frames of heartbeat) {
    await heartbeat.send(frames).catch((error: unknown) => log(`heartbeat echo failed: ${String(error)}`));
  }
}

async function closeAll(): Promise<void> {
  await sending;
  runawayCells.close();
  for (const socket of [shell, control, stdin, iopub, heartbeat]) socket.close();
  post({ kind: "closed" });
}

port.on("message", (message: MainToWorker) => {
  if (message.kind === "send") void enqueueSend(message.message);
  else if (message.kind === "pong") runawayCells.answered(message.sequence);
  else if (message.kind === "user-code") runawayCells.userCode(message.cell);
  else void closeAll();
});

async function start(): Promise<void> {
  for (const socket of [shell, control, stdin] as const) socket.linger = 1000;
  iopub.linger = 1000;
  await Promise.all([
    shell.bind(endpoint(connection, "shell")),
    control.bind(endpoint(connection, "control")),
    stdin.bind(endpoint(connection, "stdin")),
    iopub.bind(endpoint(connection, "iopub")),
    heartbeat.bind(endpoint(connection, "hb")),
  ]);
  for (const channel of ["shell", "control", "stdin"] as const) {
    receiveLoop(channel).catch((error: unknown) => {
      if (!shell.closed) log(`${channel} loop ended: ${String(error)}`);
    });
  }
  heartbeatLoop().catch(() => undefined);
  post({ kind: "ready" });
}

start().catch((error: unknown) => post({ kind: "failed", error: String(error) }));
