import type { CellExecutor } from "../execution/cell-executor";
import type { OutputPublisher } from "../display/output-publisher";
import { plainText } from "../display/bundle-of";
import type { MessageHeader } from "../protocol/message";
import type { ExecuteRequest } from "./request-content";
import { RunningCell } from "./running-cell";
import type { SessionHistory } from "./session-history";

export interface ExecuteContext {
  readonly publisher: OutputPublisher;
  readonly history: SessionHistory;
  readonly executor: CellExecutor;
  executionCount: number;
  running: RunningCell | undefined;
  cellFinished(cell: RunningCell): void;
  /** Runs `work` so that callbacks it schedules remember `cell` (for routing their errors). */
  runAs<T>(cell: RunningCell, work: () => T): T;
}

export interface ExecuteOutcome {
  reply: Record<string, unknown>;
  /** True when the cell failed and the request asked to stop on error. */
  abortQueue: boolean;
}

/** execute_input, the cell's outputs, execute_result or error; returns the execute_reply. */
export async function executeCell(
  context: ExecuteContext,
  header: MessageHeader,
  metadata: Record<string, unknown>,
  request: ExecuteRequest,
  identities: Buffer[],
): Promise<ExecuteOutcome> {
  const silent = request.silent === true;
  const storeHistory = !silent && request.store_history !== false;
  // As in ipykernel, only a cell kept in history takes a new execution count; others show the current one.
  if (storeHistory) context.executionCount++;
  const count = context.executionCount;
  if (storeHistory) context.history.add(count, request.code);
  // Unstored cells share the count of the last stored one, so their script name comes from the
  // request instead: tracebacks of the stored cell must keep pointing at its own source.
  const label = storeHistory ? `cell[${count}]` : `cell[${header.msg_id.slice(0, 8)}]`;
  const cellId = metadata.cellId; // sent by JupyterLab, Notebook 7, nbclient
  context.publisher.executionStarted(header, typeof cellId === "string" ? cellId : undefined);
  if (!silent) context.publisher.publish("execute_input", { code: request.code, execution_count: count });

  const cell = new RunningCell(header, identities, request.allow_stdin !== false, count);
  context.running = cell;
  let outcome;
  try {
    outcome = await context.runAs(cell, () => context.executor.execute(request.code, label, cell.stop));
  } finally {
    cell.finish();
    context.cellFinished(cell);
  }

  if (outcome.status === "error") {
    context.publisher.publish("error", { ...outcome.failure });
    return {
      reply: { status: "error", execution_count: count, ...outcome.failure },
      abortQueue: request.stop_on_error !== false,
    };
  }
  if (outcome.hasValue && !silent) {
    context.publisher.executeResult(count, outcome.value);
    if (storeHistory) context.history.setOutput(count, plainText(outcome.value));
  }
  return { reply: { status: "ok", execution_count: count, payload: [], user_expressions: {} }, abortQueue: false };
}
