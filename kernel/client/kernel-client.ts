/**
 * A small Jupyter client over zeromq, for tests and for `tokenlab nbtest`.
 *
 *   const client = await KernelClient.start({ argv: ["node", "bin/tokenlab.js", "kernel",
 *     "--connection-file", "{connection_file}"] });          // or argv from a kernelspec
 *   const { reply, outputs } = await client.execute("1 + 1"); // outputs: iopub messages of the request
 *   await client.request("shell", "complete_request", { code: "Mat", cursor_pos: 3 });
 *   await client.request("control", "interrupt_request", {});
 *   client.onInputRequest = async (prompt) => "answer";       // answers stdin input_request
 *   await client.shutdown();                                  // shutdown_request, then waits for exit
 *
 * - `start` writes a fresh connection file (random key, free ports) into a temp dir, substitutes
 *   `{connection_file}` in argv, spawns the kernel and waits until shell and iopub both work.
 * - `request(channel, type, content)` resolves with the reply (matched by parent msg_id).
 * - `iopubFor(msgId)` resolves with every iopub message whose parent is msgId, up to and including
 *   the `idle` status; `execute` combines both. Output messages are kept, never dropped.
 * - `sendFrames(channel, frames)` sends raw multipart frames (for forged-signature tests);
 *   `sign`/`encodeMessage` from ../protocol/wire build valid ones.
 * - `kill()` ends the kernel process; `close()` closes the sockets (call it in `after` hooks).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import { endpoint, type ConnectionInfo } from "../protocol/connection-file";
import { parentMsgId, type Channel, type JupyterMessage } from "../protocol/message";
import { decodeMessage, encodeMessage, isJsonObject, makeHeader } from "../protocol/wire";
import { KernelClientError } from "./kernel-client-error";

export interface StartOptions {
  /** Kernelspec-style argv; "{connection_file}" is replaced by the generated file's path. */
  argv: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the first kernel_info_reply (ms). */
  startTimeoutMs?: number;
}

export interface ExecuteResult {
  reply: JupyterMessage;
  /** iopub messages with this request as parent, from `busy` to `idle` inclusive. */
  outputs: JupyterMessage[];
}

type RequestChannel = Exclude<Channel, "iopub">;

export class KernelClient {
  /** Answers input_request on stdin; the default rejects so a test notices an unexpected prompt. */
  onInputRequest: (prompt: string, password: boolean) => Promise<string> = async (prompt) => {
    throw new KernelClientError("unexpected input_request", { prompt });
  };
  /** Everything the kernel wrote to its own stdout/stderr (its logs), for assertions. */
  kernelLog = "";

  private readonly session = randomBytes(8).toString("hex");
  private readonly iopubByParent = new Map<string, JupyterMessage[]>();
  private readonly iopubWaiters = new Map<string, () => void>();
  private readonly replyWaiters = new Map<string, (reply: JupyterMessage) => void>();
  /** Replies that arrived before anyone asked for them (a fast kernel beats `await send`). */
  private readonly earlyReplies = new Map<string, JupyterMessage>();
  private exited: Promise<number | null>;

  private constructor(
    readonly connection: ConnectionInfo,
    readonly process: ChildProcess,
    private readonly sockets: { shell: zmq.Dealer; control: zmq.Dealer; stdin: zmq.Dealer; iopub: zmq.Subscriber },
    private readonly tempDir: string,
  ) {
    this.exited = new Promise((resolve) => process.once("exit", (code) => resolve(code)));
    for (const channel of ["shell", "control", "stdin"] as const) void this.receiveReplies(channel);
    void this.receiveIopub();
  }

  static async start(options: StartOptions): Promise<KernelClient> {
    const tempDir = mkdtempSync(join(tmpdir(), "tokenlab-client-"));
    const [shell_port, iopub_port, stdin_port, control_port, hb_port] = await freePorts(5);
    const connection: ConnectionInfo = {
      ip: "127.0.0.1", transport: "tcp", signature_scheme: "hmac-sha256", key: randomBytes(16).toString("hex"),
      shell_port, iopub_port, stdin_port, control_port, hb_port,
    };
    const connectionFile = join(tempDir, "connection.json");
    writeFileSync(connectionFile, JSON.stringify(connection));
    const [command, ...args] = options.argv.map((arg) => arg.replace("{connection_file}", connectionFile));
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    // The kernel sends input_request to the stdin socket with the shell request's identity, so
    // shell and stdin share one routing id (as jupyter_client does).
    const routingId = randomBytes(8).toString("hex");
    const sockets = {
      shell: new zmq.Dealer({ routingId }), control: new zmq.Dealer(), stdin: new zmq.Dealer({ routingId }),
      iopub: new zmq.Subscriber(),
    };
    for (const name of ["shell", "control", "stdin", "iopub"] as const) {
      sockets[name].linger = 0;
      sockets[name].connect(endpoint(connection, name));
    }
    sockets.iopub.subscribe();
    const client = new KernelClient(connection, child, sockets, tempDir);
    child.stdout!.on("data", (chunk: Buffer) => (client.kernelLog += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (client.kernelLog += chunk.toString()));
    try {
      await client.waitUntilReady(options.startTimeoutMs ?? 60_000);
    } catch (error) {
      await client.kill();
      throw error;
    }
    return client;
  }

  /** Sends a request and resolves with its reply. */
  async request(channel: RequestChannel, msgType: string, content: Record<string, unknown>, timeoutMs = 60_000): Promise<JupyterMessage> {
    const msgId = await this.send(channel, msgType, content);
    return this.replyTo(msgId, timeoutMs);
  }

  /** Sends a request without waiting; returns its msg_id for replyTo / iopubFor. */
  async send(channel: RequestChannel, msgType: string, content: Record<string, unknown>, metadata: Record<string, unknown> = {}): Promise<string> {
    const header = makeHeader(msgType, this.session, "test");
    const message: JupyterMessage = { header, parent_header: {}, metadata, content, buffers: [] };
    await this.sockets[channel].send(encodeMessage(message, this.connection.key));
    return header.msg_id;
  }

  async sendFrames(channel: RequestChannel, frames: Buffer[]): Promise<void> {
    await this.sockets[channel].send(frames);
  }

  replyTo(msgId: string, timeoutMs = 60_000): Promise<JupyterMessage> {
    const early = this.earlyReplies.get(msgId);
    if (early) {
      this.earlyReplies.delete(msgId);
      return Promise.resolve(early);
    }
    return withTimeout(
      new Promise((resolve) => this.replyWaiters.set(msgId, resolve)),
      timeoutMs,
      () => new KernelClientError("no reply in time", { msgId, timeoutMs, kernelLog: this.kernelLog.slice(-2000) }),
    );
  }

  /** Every iopub message whose parent is msgId, once the `idle` status for it has arrived. */
  async iopubFor(msgId: string, timeoutMs = 60_000): Promise<JupyterMessage[]> {
    const idle = () => (this.iopubByParent.get(msgId) ?? []).some(isIdle);
    if (!idle()) {
      await withTimeout(
        new Promise<void>((resolve) => this.iopubWaiters.set(msgId, resolve)),
        timeoutMs,
        () => new KernelClientError("no idle status in time", { msgId, timeoutMs }),
      );
    }
    return this.iopubByParent.get(msgId) ?? [];
  }

  /** iopub messages for msgId received so far (without waiting for idle). */
  iopubSoFar(msgId: string): JupyterMessage[] {
    return [...(this.iopubByParent.get(msgId) ?? [])];
  }

  async execute(code: string, content: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<ExecuteResult> {
    const msgId = await this.send("shell", "execute_request", {
      code, silent: false, store_history: true, user_expressions: {}, allow_stdin: true, stop_on_error: true, ...content,
    });
    const [reply, outputs] = await Promise.all([this.replyTo(msgId, timeoutMs), this.iopubFor(msgId, timeoutMs)]);
    return { reply, outputs };
  }

  /** Asks the kernel to shut down and waits for the process to exit. */
  async shutdown(restart = false, timeoutMs = 10_000): Promise<{ reply: JupyterMessage; exitCode: number | null }> {
    const reply = await this.request("control", "shutdown_request", { restart }, timeoutMs);
    const exitCode = await withTimeout(this.exited, timeoutMs, () => new KernelClientError("kernel did not exit", {}));
    await this.close();
    return { reply, exitCode };
  }

  waitForExit(timeoutMs = 10_000): Promise<number | null> {
    return withTimeout(this.exited, timeoutMs, () => new KernelClientError("kernel did not exit", {}));
  }

  async kill(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill("SIGKILL");
      await this.exited;
    }
    await this.close();
  }

  async close(): Promise<void> {
    for (const socket of Object.values(this.sockets)) if (!socket.closed) socket.close();
    rmSync(this.tempDir, { recursive: true, force: true });
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // A SUB socket misses messages until its subscription reaches the PUB side, so ask for
    // kernel_info until its status messages are seen on iopub as well.
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) {
        throw new KernelClientError("kernel exited during start", { exitCode: this.process.exitCode, kernelLog: this.kernelLog });
      }
      const msgId = await this.send("shell", "kernel_info_request", {});
      try {
        await this.replyTo(msgId, Math.max(1, Math.min(2000, deadline - Date.now())));
        await this.iopubFor(msgId, 500);
        return;
      } catch {
        this.replyWaiters.delete(msgId);
        this.iopubWaiters.delete(msgId);
      }
    }
    throw new KernelClientError("kernel did not answer kernel_info_request", { timeoutMs, kernelLog: this.kernelLog });
  }

  private async receiveReplies(channel: RequestChannel): Promise<void> {
    try {
      for await (const frames of this.sockets[channel]) {
        const message = this.decode(frames);
        if (!message) continue;
        if (message.header.msg_type === "input_request") {
          void this.answerInput(message);
          continue;
        }
        const parent = parentMsgId(message);
        if (!parent) continue;
        const waiter = this.replyWaiters.get(parent);
        if (waiter) {
          this.replyWaiters.delete(parent);
          waiter(message);
        } else {
          this.earlyReplies.set(parent, message);
        }
      }
    } catch {
      // socket closed
    }
  }

  /** A kernel message, or undefined (noted in kernelLog) for one a client cannot use: the loops read on. */
  private decode(frames: Buffer[]): JupyterMessage | undefined {
    try {
      const { message } = decodeMessage(frames, this.connection.key);
      if (isJsonObject(message.content)) return { ...message, content: message.content };
      this.kernelLog += `[client] ignored a ${message.header.msg_type} whose content is not an object\n`;
    } catch (error) {
      this.kernelLog += `[client] ignored a message: ${String(error)}\n`;
    }
    return undefined;
  }

  private async answerInput(request: JupyterMessage): Promise<void> {
    const { prompt, password } = request.content as { prompt: string; password: boolean };
    const value = await this.onInputRequest(prompt, password);
    const message: JupyterMessage = {
      header: makeHeader("input_reply", this.session, "test"),
      parent_header: request.header, metadata: {}, content: { value }, buffers: [],
    };
    await this.sockets.stdin.send(encodeMessage(message, this.connection.key));
  }

  private async receiveIopub(): Promise<void> {
    try {
      for await (const frames of this.sockets.iopub) {
        const message = this.decode(frames);
        const parent = message && parentMsgId(message);
        if (!message || !parent) continue;
        const list = this.iopubByParent.get(parent) ?? [];
        list.push(message);
        this.iopubByParent.set(parent, list);
        if (isIdle(message)) {
          this.iopubWaiters.get(parent)?.();
          this.iopubWaiters.delete(parent);
        }
      }
    } catch {
      // socket closed
    }
  }
}

function isIdle(message: JupyterMessage): boolean {
  return message.header.msg_type === "status" && message.content.execution_state === "idle";
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms))),
  ]).finally(() => clearTimeout(timer));
}
