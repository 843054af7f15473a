import { randomUUID } from "node:crypto";
import type { OutgoingMessage } from "../protocol/message";
import type { RunningCell } from "./running-cell";
import { StdinNotAllowedError } from "./stdin-not-allowed-error";

/**
 * input(prompt) for cells: an input_request on stdin, answered by the frontend's input_reply.
 * A reply goes to the request its parent header names (to the oldest waiting one when a frontend
 * leaves the parent out). A request whose cell has ended (interrupted, failed, finished without
 * awaiting it) is forgotten at once, so a late reply to it never reaches a later input().
 */
export class StdinBroker {
  /** Waiting input() calls by their input_request's msg_id, oldest first (Map keeps insertion order). */
  private readonly pending = new Map<string, (value: string) => void>();

  constructor(private readonly send: (message: OutgoingMessage) => void) {}

  ask(cell: RunningCell | undefined, prompt: string, password: boolean): Promise<string> {
    if (!cell || !cell.allowStdin) {
      return Promise.reject(new StdinNotAllowedError("this frontend does not accept input requests", { prompt }));
    }
    const msgId = randomUUID();
    const answered = new Promise<string>((resolve) => {
      this.pending.set(msgId, resolve);
      void cell.ended.then(() => this.pending.delete(msgId));
    });
    this.send({
      channel: "stdin", msgType: "input_request", content: { prompt, password },
      parent: cell.request, identities: cell.identities, msgId,
    });
    // An interrupt ends the wait through the cell's stop promise.
    return Promise.race([answered, cell.stop]);
  }

  /** An input_reply's value, for the input_request its parent header names (if any). */
  answer(parent: string | undefined, value: string): void {
    const msgId = parent !== undefined && this.pending.has(parent) ? parent : parent === undefined ? this.pending.keys().next().value : undefined;
    if (msgId === undefined) return; // a late reply to a request whose cell has ended
    const resolve = this.pending.get(msgId)!;
    this.pending.delete(msgId);
    resolve(value);
  }
}
