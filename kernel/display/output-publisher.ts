import type { MessageHeader, OutgoingMessage } from "../protocol/message";
import { bundleOf } from "./bundle-of";

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
  parent: MessageHeader | undefined;
  private readonly shownDisplayIds = new Set<string>();

  constructor(private readonly send: (message: OutgoingMessage) => void) {}

  stream(name: "stdout" | "stderr", text: string): void {
    this.publish("stream", { name, text });
  }

  display(value: unknown, request: DisplayRequest = {}): void {
    const transient = request.id === undefined ? {} : { display_id: request.id };
    const isUpdate = request.update === true && request.id !== undefined && this.shownDisplayIds.has(request.id);
    if (request.id !== undefined) this.shownDisplayIds.add(request.id);
    this.publish(isUpdate ? "update_display_data" : "display_data", { data: bundleOf(value), metadata: {}, transient });
  }

  executeResult(executionCount: number, value: unknown): void {
    this.publish("execute_result", { execution_count: executionCount, data: bundleOf(value), metadata: {} });
  }

  clearOutput(wait = false): void {
    this.publish("clear_output", { wait });
  }

  publish(msgType: string, content: Record<string, unknown>, buffers?: Buffer[]): void {
    this.send({ channel: "iopub", msgType, content, parent: this.parent ?? {}, buffers });
  }
}
