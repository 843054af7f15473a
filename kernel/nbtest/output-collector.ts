import type { JupyterMessage } from "../protocol/message";
import type { DataOutput, Output } from "./notebook-file";

/**
 * Turns one cell's iopub messages into nbformat outputs the way a notebook frontend does:
 * `clear_output` empties the cell (with `wait`, when the next output arrives) and
 * `update_display_data` rewrites every earlier output with that display id, in this cell or an
 * earlier one (the registry is shared across the notebook's cells).
 */
export class OutputCollector {
  private readonly byDisplayId = new Map<string, DataOutput[]>();

  collect(messages: readonly JupyterMessage[]): Output[] {
    let outputs: Output[] = [];
    let clearOnNextOutput = false;
    const add = (output: Output): void => {
      if (clearOnNextOutput) outputs = [];
      clearOnNextOutput = false;
      outputs.push(output);
    };
    for (const { header, content } of messages) {
      const c = content as Record<string, unknown>;
      switch (header.msg_type) {
        case "stream":
          add({ output_type: "stream", name: String(c.name), text: String(c.text) });
          break;
        case "display_data":
        case "execute_result": {
          const output: DataOutput = {
            output_type: header.msg_type,
            data: (c.data ?? {}) as Record<string, unknown>,
            metadata: (c.metadata ?? {}) as Record<string, unknown>,
            ...(header.msg_type === "execute_result" ? { execution_count: c.execution_count as number } : {}),
          };
          this.remember(displayId(c), output);
          add(output);
          break;
        }
        case "update_display_data":
          for (const output of this.byDisplayId.get(displayId(c) ?? "") ?? []) {
            output.data = (c.data ?? {}) as Record<string, unknown>;
            output.metadata = (c.metadata ?? {}) as Record<string, unknown>;
          }
          break;
        case "error":
          add({ output_type: "error", ename: String(c.ename), evalue: String(c.evalue), traceback: (c.traceback ?? []) as string[] });
          break;
        case "clear_output":
          if (c.wait) clearOnNextOutput = true;
          else outputs = [];
          break;
        default: // status, execute_input, comm_* carry no output
      }
    }
    return outputs;
  }

  private remember(id: string | undefined, output: DataOutput): void {
    if (id) this.byDisplayId.set(id, [...(this.byDisplayId.get(id) ?? []), output]);
  }
}

function displayId(content: Record<string, unknown>): string | undefined {
  const transient = content.transient as { display_id?: unknown } | undefined;
  return typeof transient?.display_id === "string" ? transient.display_id : undefined;
}
