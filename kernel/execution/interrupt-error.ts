import { TokenlabError } from "../../lib/errors/tokenlab-error";

/** Raised in place of a cell's result when the user interrupts it (interrupt_request or SIGINT). */
export class InterruptError extends TokenlabError {
  constructor(context: Record<string, unknown> = {}) {
    super("Interrupted by the user", context);
  }
}
