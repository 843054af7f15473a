import type { JupyterMessage, OutgoingMessage } from "../protocol/message";
import type { RunningCell } from "./running-cell";
import { StdinNotAllowedError } from "./stdin-not-allowed-error";

/**
 * input(prompt) for cells: an input_request on stdin, answered by the frontend's input_reply.
 * Replies are matched to requests in the order the requests were sent. A request whose cell has
 * ended (interrupted, failed, finished without awaiting it) is forgotten at once, so the next
 * reply reaches an input() that is still waiting rather than a dead one.
 */
export class StdinBroker {
  private readonly pending: Array<(value: string) => void> = [];

  constructor(private readonly send: (message: OutgoingMessage) => void) {}

  ask(cell: RunningCell | undefined, prompt: string, password: boolean): Promise<string> {
    if (!cell || !cell.allowStdin) {
      return Promise.reject(new StdinNotAllowedError("this frontend does not accept input requests", { prompt }));
    }
    this.send({
      channel: "stdin", msgType: "input_request", content: { prompt, password },
      parent: cell.request, identities: cell.identities,
    });
    const answered = new Promise<string>((resolve) => {
      this.pending.push(resolve);
      void cell.ended.then(() => this.forget(resolve));
    });
    // An interrupt ends the wait through the cell's stop promise.
    return Promise.race([answered, cell.stop]);
  }

  answer(reply: JupyterMessage): void {
    this.pending.shift()?.(String((reply.content as { value?: unknown }).value ?? ""));
  }

  private forget(waiter: (value: string) => void): void {
    const index = this.pending.indexOf(waiter);
    if (index >= 0) this.pending.splice(index, 1);
  }
}
