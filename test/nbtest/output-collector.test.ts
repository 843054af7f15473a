import assert from "node:assert/strict";
import { OutputCollector } from "../../kernel/nbtest/output-collector";
import type { JupyterMessage } from "../../kernel/protocol/message";

function message(msgType: string, content: Record<string, unknown>): JupyterMessage {
  return {
    header: { msg_id: `${msgType}-${Math.random()}`, session: "s", username: "u", date: "", msg_type: msgType, version: "5.3" },
    parent_header: {},
    metadata: {},
    content,
    buffers: [],
  };
}
const display = (text: string, id?: string, type = "display_data") =>
  message(type, { data: { "text/plain": text }, metadata: {}, ...(id ? { transient: { display_id: id } } : {}) });

describe("OutputCollector", () => {
  it("keeps outputs in order and ignores status and execute_input", () => {
    const outputs = new OutputCollector().collect([
      message("status", { execution_state: "busy" }),
      message("execute_input", { code: "x", execution_count: 1 }),
      message("stream", { name: "stdout", text: "hi\n" }),
      message("execute_result", { data: { "text/plain": "2" }, metadata: {}, execution_count: 1 }),
      message("error", { ename: "E", evalue: "v", traceback: ["t"] }),
      message("status", { execution_state: "idle" }),
    ]);
    assert.deepEqual(
      outputs.map((o) => o.output_type),
      ["stream", "execute_result", "error"],
    );
  });

  it("applies update_display_data to every output with that id, also from a later cell", () => {
    const collector = new OutputCollector();
    const first = collector.collect([display("step 1", "live"), display("other"), display("step 1", "live")]);
    collector.collect([message("update_display_data", { data: { "text/plain": "step 9" }, metadata: {}, transient: { display_id: "live" } })]);
    assert.deepEqual(
      first.map((o) => (o.output_type === "display_data" ? o.data["text/plain"] : "")),
      ["step 9", "other", "step 9"],
    );
  });

  it("clears at once, or at the next output with wait", () => {
    const collector = new OutputCollector();
    const cleared = collector.collect([display("a"), message("clear_output", { wait: false }), display("b")]);
    assert.deepEqual(cleared.map((o) => (o.output_type === "display_data" ? o.data["text/plain"] : "")), ["b"]);
    const waited = collector.collect([display("a"), message("clear_output", { wait: true }), message("status", {}), display("c")]);
    assert.deepEqual(waited.map((o) => (o.output_type === "display_data" ? o.data["text/plain"] : "")), ["c"]);
  });
});
