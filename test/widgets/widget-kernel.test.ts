import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KernelClient } from "../../kernel/client/kernel-client";
import type { JupyterMessage } from "../../kernel/protocol/message";
import { ofType, startKernel, waitForOutput } from "../kernel/kernel-fixture";

const content = <T>(message: JupyterMessage): T => message.content as T;

describe("widgets in the tokenlab kernel", function () {
  this.timeout(120_000);
  let client: KernelClient;
  let stop: () => Promise<void>;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tokenlab-widgets-"));
    const kernel = await startKernel(work);
    client = kernel.client;
    stop = kernel.cleanup;
  });
  after(async () => {
    await stop?.();
    rmSync(work, { recursive: true, force: true });
  });

  it("a click (comm_msg) reaches a cell that is still running and awaiting; its output stays under the cell", async () => {
    const code = [
      'import { Button } from "tokenlab";',
      'const go = new Button({ description: "Go" });',
      "let clicked = false;",
      "go.onClick(() => { clicked = true; });",
      "display(go);",
      "// waits for the click; gives up after a minute so a broken kernel fails instead of hanging",
      "for (let i = 0; i < 12000 && !clicked; i++) await new Promise((resolve) => setTimeout(resolve, 5));",
      'console.log(clicked ? "clicked while running" : "no click reached the cell");',
    ].join("\n");
    const execId = await client.send("shell", "execute_request", { code, silent: false, store_history: true });
    await waitForOutput(client, execId, "display_data");
    const [open] = ofType(client.iopubSoFar(execId), "comm_open");
    const { comm_id, target_name, data } = content<{ comm_id: string; target_name: string; data: { state: Record<string, unknown> } }>(open);
    assert.equal(target_name, "jupyter.widget");
    assert.deepEqual(open.metadata, { version: "2.1.0" }, "the protocol version is the message's metadata (ipywidgets' frontend reads msg.metadata.version)");
    assert.equal(data.state._model_name, "ButtonModel");
    const [shown] = ofType(client.iopubSoFar(execId), "display_data");
    assert.equal(content<{ data: Record<string, { model_id: string }> }>(shown).data["application/vnd.jupyter.widget-view+json"].model_id, comm_id);

    const clickId = await client.send("shell", "comm_msg", { comm_id, data: { method: "custom", content: { event: "click" } } });
    const clickStatus = ofType(await client.iopubFor(clickId), "status").map((m) => content<{ execution_state: string }>(m).execution_state);
    assert.deepEqual(clickStatus, ["busy", "idle"], "the click was handled (idle) before the cell ended");
    const reply = await client.replyTo(execId);
    assert.equal(content<{ status: string }>(reply).status, "ok");
    const printed = ofType(await client.iopubFor(execId), "stream").map((m) => content<{ text: string }>(m).text).join("");
    assert.equal(printed, "clicked while running\n");
  });

  it("an update from the frontend is echoed, reaches on() in the kernel, and request_state returns the state", async () => {
    const made = await client.execute('import { Text } from "tokenlab";\nconst box = new Text({ value: "a" });\nconst seen: string[] = [];\nbox.on("value", (c) => seen.push(String(c.new)));\nbox.modelId');
    const modelId = String(content<{ data: Record<string, string> }>(ofType(made.outputs, "execute_result")[0]).data["text/plain"]).replace(/'/g, "");
    const updateId = await client.send("shell", "comm_msg", { comm_id: modelId, data: { method: "update", state: { value: "abc" }, buffer_paths: [] } });
    const [echo] = ofType(await client.iopubFor(updateId), "comm_msg");
    assert.deepEqual(content<{ data: unknown }>(echo).data, { method: "echo_update", state: { value: "abc" }, buffer_paths: [] });
    assert.equal(content<{ data: Record<string, string> }>(ofType((await client.execute("seen.join()")).outputs, "execute_result")[0]).data["text/plain"], "'abc'");
    const requestId = await client.send("shell", "comm_msg", { comm_id: modelId, data: { method: "request_state" } });
    const [state] = ofType(await client.iopubFor(requestId), "comm_msg");
    assert.equal(content<{ data: { method: string; state: { value: string } } }>(state).data.state.value, "abc");
  });
});
