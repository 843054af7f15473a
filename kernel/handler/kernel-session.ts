import { AsyncLocalStorage } from "node:async_hooks";
import { CellExecutor } from "../execution/cell-executor";
import { CommRegistry } from "../display/comm-registry";
import { OutputPublisher } from "../display/output-publisher";
import { parentMsgId, type JupyterMessage, type MessageHeader, type OutgoingMessage } from "../protocol/message";
import type { KernelTransport, IncomingMessage } from "../protocol/transport";
import { installHardStopPreparation } from "../protocol/runaway-cell-stopper";
import { NOTEBOOK_HOST, type NotebookHost } from "../../lib/runtime/notebook-host";
import { executeCell, type ExecuteContext } from "./execute-request";
import { kernelInfoContent } from "./kernel-info";
import { kernelLog } from "./kernel-log";
import { InvalidRequestError } from "./invalid-request-error";
import { StdinBroker } from "./stdin-broker";
import { RunningCell } from "./running-cell";
import { SessionHistory } from "./session-history";
import { requestContent } from "./request-content";
import { codePointOffset, utf16Offset } from "./cursor-position";
import { captureStdio } from "./stdio-capture";

/** Jupyter frontends re-send kernel_info every 500 ms until iopub works; one retry fits in. */
const WARM_UP_DELAY_MS = 1000;

type Reply = (msgType: string, content: Record<string, unknown>) => void;

const COMM_MESSAGES = new Set(["comm_open", "comm_msg", "comm_close"]);

/**
 * Maps Jupyter requests to kernel actions. Shell requests run one at a time in arrival order;
 * control requests are answered at once, and so are comm messages while a cell runs. Every request is wrapped in busy/idle with itself as
 * parent. Sockets live in KernelTransport; compiling and running in CellExecutor.
 */
export class KernelSession implements ExecuteContext {
  readonly publisher: OutputPublisher;
  readonly comms: CommRegistry;
  readonly history = new SessionHistory();
  readonly executor: CellExecutor;
  readonly stdin: StdinBroker;
  executionCount = 0;
  running: RunningCell | undefined;
  private lastSignal = new AbortController().signal;
  private readonly cellContext = new AsyncLocalStorage<RunningCell>();
  private readonly shellQueue: IncomingMessage[] = [];
  private shellBusy = false;
  private transport!: KernelTransport;
  private readonly markUserCode = installHardStopPreparation();
  private restoreStdio: () => void = () => undefined;

  constructor(rootDir: string) {
    this.publisher = new OutputPublisher((message) => this.send(message));
    this.comms = new CommRegistry(this.publisher);
    this.stdin = new StdinBroker((message) => this.send(message));
    this.executor = new CellExecutor(rootDir, {
      display: (value, options) => this.publisher.display(value, options),
      clearOutput: (wait) => this.publisher.clearOutput(wait),
      input: (prompt, options) => this.stdin.ask(this.running, prompt ?? "", options?.password ?? false),
    }, (running) => {
      this.markUserCode(running);
      this.transport.userCode(running ? (this.running?.request ?? null) : null);
    });
  }

  /** `transport` is started by the caller, so that its worker boots while this module loads. */
  async start(transport: Promise<KernelTransport>): Promise<void> {
    this.installNotebookHost();
    // SIGINT (from a terminal or from the socket worker on interrupt_request) must never kill the
    // kernel: a synchronous loop is broken by vm's breakOnSigint, an awaiting cell here.
    process.on("SIGINT", () => this.running?.interrupt());
    process.on("SIGTERM", () => void this.shutdown(0));
    process.on("uncaughtException", (error) => this.asyncError(error));
    process.on("unhandledRejection", (reason) => this.asyncError(reason));
    this.transport = await transport;
    this.transport.listen((incoming) => this.receive(incoming));
    this.restoreStdio = captureStdio((name, text) => this.streamOrLog(name, text));
    this.warmUpSoon();
    this.exitWhenOrphaned();
  }

  /**
   * Loading TypeScript and building the program blocks this thread for seconds, so it waits until
   * the frontend's handshake (kernel_info, repeated while iopub is still connecting) is likely
   * answered; a cell that arrives earlier does the work itself and waits for it.
   */
  private warmUpSoon(): void {
    setTimeout(() => {
      this.executor.warmUp().catch((error: unknown) => kernelLog(`warm-up failed: ${(error as Error).stack ?? String(error)}`));
    }, WARM_UP_DELAY_MS).unref();
  }

  /**
   * A kernel whose launcher died (crashed client, killed frontend) would otherwise live on with
   * nobody to talk to; like ipykernel's parent poller, it exits once its parent process changes.
   */
  private exitWhenOrphaned(): void {
    const parentPid = process.ppid;
    setInterval(() => {
      if (process.ppid !== parentPid) {
        kernelLog(`parent process ${parentPid} is gone; shutting down`);
        void this.shutdown(0);
      }
    }, 1000).unref();
  }

  send(message: OutgoingMessage): void {
    this.transport.send(message);
  }

  runAs<T>(cell: RunningCell, work: () => T): T {
    return this.cellContext.run(cell, work);
  }

  /**
   * Errors thrown in callbacks (timers, promises) reach the cell that started them: while it runs
   * they fail it; once it has finished they are shown under it. Errors of unknown origin fail the
   * running cell, else show under the last one.
   */
  asyncError(error: unknown): void {
    const origin = this.cellContext.getStore();
    const target = origin ?? this.running;
    if (target && target === this.running) {
      target.failAsync(error);
      return;
    }
    const failure = this.executor.failureOf(error);
    kernelLog(`error after its cell finished: ${failure.ename}: ${failure.evalue}`);
    this.publisher.flush();
    this.send({ channel: "iopub", msgType: "error", content: { ...failure }, parent: target?.request ?? this.publisher.parent ?? {} });
  }

  private streamOrLog(name: "stdout" | "stderr", text: string): void {
    if (this.publisher.parent) this.publisher.stream(name, text);
    else kernelLog(`${name}: ${text.trimEnd()}`);
  }

  /**
   * Called from the transport's message event: whatever goes wrong with one message is logged here
   * and never reaches uncaughtException, which would show it under whichever cell ran last.
   */
  private receive(incoming: IncomingMessage): void {
    try {
      this.route(incoming);
    } catch (error) {
      kernelLog(`dropped a ${incoming.channel} message: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private route(incoming: IncomingMessage): void {
    if (incoming.channel === "stdin") {
      const { message } = incoming;
      if (message.header.msg_type === "input_reply") {
        this.stdin.answer(parentMsgId(message), requestContent("input_reply", message.content).value);
      }
      return;
    }
    if (incoming.channel === "control" || (this.running && COMM_MESSAGES.has(incoming.message.header.msg_type))) {
      // Comm messages (widget clicks, edits) do not wait behind the running cell in the shell queue:
      // a cell that awaits (a training loop yields between steps) sees them while it runs — that is
      // how a Stop button reaches the loop it controls.
      void this.handle(incoming);
      return;
    }
    this.shellQueue.push(incoming);
    void this.drainShell();
  }

  private async drainShell(): Promise<void> {
    if (this.shellBusy) return;
    this.shellBusy = true;
    try {
      for (let next = this.shellQueue.shift(); next; next = this.shellQueue.shift()) await this.handle(next);
    } finally {
      this.shellBusy = false;
    }
  }

  private async handle({ channel, identities, message }: IncomingMessage): Promise<void> {
    const parent = message.header;
    const status = (state: "busy" | "idle") =>
      this.send({ channel: "iopub", msgType: "status", content: { execution_state: state }, parent });
    let replied = false;
    const reply: Reply = (msgType, content) => {
      replied = true;
      this.publisher.flush(); // a cell's printed output precedes its reply
      this.send({ channel, msgType, content, parent, identities });
    };
    status("busy");
    try {
      await this.dispatch(message, identities, reply);
    } catch (error) {
      const type = message.header.msg_type;
      kernelLog(`${type} failed: ${error instanceof InvalidRequestError ? error.message : ((error as Error)?.stack ?? String(error))}`);
      // Every request is answered, as ipykernel does: a client waiting for its reply must not hang.
      if (!replied && type.endsWith("_request")) reply(type.replace(/_request$/, "_reply"), this.errorReply(type, error));
    } finally {
      this.publisher.flush();
      status("idle");
    }
  }

  private errorReply(msgType: string, error: unknown): Record<string, unknown> {
    const ename = error instanceof Error ? error.name : "Error";
    const evalue = error instanceof Error ? error.message : String(error);
    return {
      status: "error", ename, evalue, traceback: [`${ename}: ${evalue}`],
      ...(msgType === "execute_request" ? { execution_count: this.executionCount } : {}),
    };
  }

  private async dispatch(message: JupyterMessage<unknown>, identities: Buffer[], reply: Reply): Promise<void> {
    const type = message.header.msg_type;
    switch (type) {
      case "execute_request": {
        const outcome = await executeCell(this, message.header, message.metadata, requestContent(type, message.content), identities);
        reply("execute_reply", outcome.reply);
        if (outcome.abortQueue) this.abortQueuedExecutes();
        return;
      }
      case "kernel_info_request":
        requestContent(type, message.content); // nothing to read, but null content is still an invalid request
        return reply("kernel_info_reply", kernelInfoContent());
      case "complete_request": {
        const { code, cursor_pos } = requestContent(type, message.content);
        const completion = this.executor.complete(code, utf16Offset(code, cursor_pos));
        return reply("complete_reply", {
          status: "ok", matches: completion.matches, cursor_start: codePointOffset(code, completion.cursorStart),
          cursor_end: codePointOffset(code, completion.cursorEnd), metadata: {},
        });
      }
      case "inspect_request": {
        const { code, cursor_pos } = requestContent(type, message.content);
        const inspection = this.executor.inspect(code, utf16Offset(code, cursor_pos));
        return reply("inspect_reply", {
          status: "ok", found: inspection.found, data: inspection.found ? { "text/plain": inspection.text } : {}, metadata: {},
        });
      }
      case "is_complete_request":
        return reply("is_complete_reply", this.executor.isComplete(requestContent(type, message.content).code));
      case "history_request":
        return reply("history_reply", { status: "ok", history: this.history.query(requestContent(type, message.content)) });
      case "comm_info_request":
        return reply("comm_info_reply", { status: "ok", comms: this.comms.info(requestContent(type, message.content).target_name) });
      case "comm_open":
        return this.answerComm(message.header, () => this.comms.handleOpen(requestContent(type, message.content), message.buffers));
      case "comm_msg":
        return this.answerComm(message.header, () => this.comms.handleMessage(requestContent(type, message.content), message.buffers));
      case "comm_close":
        return this.answerComm(message.header, () => this.comms.handleClose(requestContent(type, message.content)));
      case "shutdown_request": {
        const restart = requestContent(type, message.content).restart === true;
        reply("shutdown_reply", { status: "ok", restart });
        // The client restarts by starting a new process; this one always ends.
        setImmediate(() => void this.shutdown(0));
        return;
      }
      default:
        kernelLog(`unsupported message type ${type}`);
    }
  }

  /**
   * What a comm handler sends answers its comm message (the parent). When the message arrived while a
   * cell runs, the parent goes back to that cell afterwards, so the cell's later output stays under it.
   */
  private answerComm(header: MessageHeader, work: () => void): void {
    const cell = this.running;
    this.publisher.parent = header;
    try {
      work();
    } finally {
      if (cell && cell === this.running) this.publisher.parent = cell.request;
    }
  }

  /** stop_on_error: execute requests queued behind a failed cell are answered `aborted`. */
  private abortQueuedExecutes(): void {
    const aborted = this.shellQueue.filter((queued) => queued.message.header.msg_type === "execute_request");
    for (const queued of aborted) {
      this.shellQueue.splice(this.shellQueue.indexOf(queued), 1);
      const parent = queued.message.header;
      this.send({ channel: "iopub", msgType: "status", content: { execution_state: "busy" }, parent });
      this.send({ channel: queued.channel, msgType: "execute_reply", content: { status: "aborted", execution_count: null }, parent, identities: queued.identities });
      this.send({ channel: "iopub", msgType: "status", content: { execution_state: "idle" }, parent });
    }
  }

  /** The NotebookHost lib/ code sees: display, clearOutput, the running cell's signal, comms. */
  private installNotebookHost(): void {
    const session = this;
    const host: NotebookHost = {
      display: (value, options) => this.publisher.display(value, options),
      clearOutput: (wait) => this.publisher.clearOutput(wait),
      get signal() {
        return session.running?.controller.signal ?? session.lastSignal;
      },
      comms: this.comms,
    };
    (globalThis as { [NOTEBOOK_HOST]?: NotebookHost })[NOTEBOOK_HOST] = host;
  }

  /** Called by executeCell when a cell ends, so the host keeps that cell's signal until the next. */
  cellFinished(cell: RunningCell): void {
    this.lastSignal = cell.controller.signal;
    this.running = undefined;
  }

  async shutdown(exitCode: number): Promise<void> {
    this.running?.interrupt();
    this.restoreStdio();
    this.executor.close();
    await this.transport.close();
    process.exit(exitCode);
  }
}
