import type { MessageHeader, OutgoingMessage } from "../protocol/message";
import { bundleOf } from "./bundle-of";
import { SessionAssets } from "./session-assets";

export interface DisplayRequest {
  id?: string;
  update?: boolean;
}

/**
 * Publishes a cell's outputs on iopub with the right parent: the request running now, or, for
 * output produced later by callbacks, the request that ran last. Tracks display ids so that
 * `{id, update: true}` becomes update_display_data once that id has been shown.
 */
export class OutputPublisher {
  private currentParent: MessageHeader | undefined;

  get parent(): MessageHeader | undefined {
    return this.currentParent;
  }

  /** Output buffered for the previous parent goes out before the parent changes. */
  set parent(parent: MessageHeader | undefined) {
    this.flush();
    this.currentParent = parent;
  }
  private readonly shownDisplayIds = new Set<string>();
  private readonly assets = new SessionAssets();
  private cellId: string | undefined;
  private pendingStream: { name: "stdout" | "stderr"; text: string } | undefined;
  private burstOpen = false;

  constructor(private readonly send: (message: OutgoingMessage) => void) {}

  /**
   * The first write of a tick goes out at once (a print before long synchronous work is seen
   * while it runs); later writes of the same tick and stream are merged into one message, so a
   * loop printing 10k lines does not flood the frontend. Other outputs flush first: order is kept.
   */
  stream(name: "stdout" | "stderr", text: string): void {
    if (this.pendingStream && this.pendingStream.name !== name) this.flush();
    if (!this.burstOpen) {
      this.burstOpen = true;
      setImmediate(() => {
        this.burstOpen = false;
        this.flush();
      });
      this.send({ channel: "iopub", msgType: "stream", content: { name, text }, parent: this.parent ?? {} });
      return;
    }
    this.pendingStream ??= { name, text: "" };
    this.pendingStream.text += text;
  }

  flush(): void {
    const pending = this.pendingStream;
    if (!pending) return;
    this.pendingStream = undefined;
    this.send({ channel: "iopub", msgType: "stream", content: pending, parent: this.parent ?? {} });
  }

  /** An execute_request starts; `cellId` is the notebook cell's id where the frontend sends one (metadata.cellId). */
  executionStarted(parent: MessageHeader, cellId: string | undefined): void {
    this.parent = parent;
    this.cellId = cellId;
    this.assets.executionStarted(cellId);
  }

  display(value: unknown, request: DisplayRequest = {}): void {
    const transient = request.id === undefined ? {} : { display_id: request.id };
    const isUpdate = request.update === true && request.id !== undefined && this.shownDisplayIds.has(request.id);
    if (request.id !== undefined) this.shownDisplayIds.add(request.id);
    this.publish(isUpdate ? "update_display_data" : "display_data", { data: this.bundle(value, request.id), metadata: {}, transient });
  }

  executeResult(executionCount: number, value: unknown): void {
    this.publish("execute_result", { execution_count: executionCount, data: this.bundle(value, undefined), metadata: {} });
  }

  clearOutput(wait = false): void {
    if (this.parent) this.assets.outputCleared(this.parent.msg_id);
    this.publish("clear_output", { wait });
  }

  /** The value's bundle, with once-per-session assets (plotly.js) left out when an earlier output carries them. */
  private bundle(value: unknown, displayId: string | undefined): Record<string, unknown> {
    const data = bundleOf(value);
    const html = data["text/html"];
    if (typeof html !== "string" || !this.parent) return data;
    return { ...data, "text/html": this.assets.dedupe(html, { requestId: this.parent.msg_id, cellId: this.cellId, displayId }) };
  }

  publish(msgType: string, content: Record<string, unknown>, buffers?: Buffer[], metadata?: Record<string, unknown>): void {
    this.flush();
    this.send({ channel: "iopub", msgType, content, parent: this.parent ?? {}, buffers, metadata });
  }
}
