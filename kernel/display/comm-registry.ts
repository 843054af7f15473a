import { randomUUID } from "node:crypto";
import type { Comm, CommTargetHandler, NotebookComms } from "../../lib/runtime/notebook-host";
import { UnknownCommTargetError } from "./unknown-comm-target-error";

export interface CommTransport {
  publish(msgType: string, content: Record<string, unknown>, buffers?: Buffer[], metadata?: Record<string, unknown>): void;
}

interface OpenComm extends Comm {
  deliver(data: unknown, buffers: Buffer[]): void;
  closedByFrontend(data: unknown): void;
}

/**
 * Comms in both directions (the plumbing ipywidgets uses): lib/ code registers targets the
 * frontend may open, or opens comms itself; frontend comm_msg/comm_close reach the comm's handlers.
 */
export class CommRegistry implements NotebookComms {
  private readonly targets = new Map<string, CommTargetHandler>();
  private readonly comms = new Map<string, OpenComm>();

  constructor(private readonly transport: CommTransport) {}

  registerTarget(targetName: string, handler: CommTargetHandler): void {
    this.targets.set(targetName, handler);
  }

  open(targetName: string, data: unknown = {}, metadata: Record<string, unknown> = {}, buffers: Buffer[] = []): Comm {
    const comm = this.create(randomUUID(), targetName);
    // As ipykernel: comm metadata (e.g. the widget protocol version) is the message's metadata, not content.
    this.transport.publish("comm_open", { comm_id: comm.commId, target_name: targetName, data }, buffers, metadata);
    return comm;
  }

  /** Frontend comm_open: unknown targets are answered with comm_close, as ipykernel does. */
  handleOpen(content: { comm_id: string; target_name: string; data?: unknown }, buffers: Buffer[]): void {
    const handler = this.targets.get(content.target_name);
    if (!handler) {
      this.transport.publish("comm_close", { comm_id: content.comm_id, data: {} });
      throw new UnknownCommTargetError("no comm target registered under this name", { target: content.target_name });
    }
    handler(this.create(content.comm_id, content.target_name), content.data ?? {}, buffers);
  }

  handleMessage(content: { comm_id: string; data?: unknown }, buffers: Buffer[]): void {
    this.comms.get(content.comm_id)?.deliver(content.data ?? {}, buffers);
  }

  handleClose(content: { comm_id: string; data?: unknown }): void {
    const comm = this.comms.get(content.comm_id);
    this.comms.delete(content.comm_id);
    comm?.closedByFrontend(content.data ?? {});
  }

  /** comm_info_reply content: open comms, optionally only those of one target. */
  info(targetName?: string): Record<string, { target_name: string }> {
    const result: Record<string, { target_name: string }> = {};
    for (const comm of this.comms.values()) {
      if (targetName === undefined || comm.targetName === targetName) result[comm.commId] = { target_name: comm.targetName };
    }
    return result;
  }

  private create(commId: string, targetName: string): OpenComm {
    const messageHandlers: Array<(data: unknown, buffers: Buffer[]) => void> = [];
    const closeHandlers: Array<(data: unknown) => void> = [];
    const comm: OpenComm = {
      commId,
      targetName,
      send: (data, metadata = {}, buffers = []) =>
        this.transport.publish("comm_msg", { comm_id: commId, data }, buffers, metadata),
      close: (data = {}) => {
        if (!this.comms.delete(commId)) return;
        this.transport.publish("comm_close", { comm_id: commId, data });
      },
      onMessage: (handler) => void messageHandlers.push(handler),
      onClose: (handler) => void closeHandlers.push(handler),
      deliver: (data, buffers) => messageHandlers.forEach((handler) => handler(data, buffers)),
      closedByFrontend: (data) => closeHandlers.forEach((handler) => handler(data)),
    };
    this.comms.set(commId, comm);
    return comm;
  }
}
