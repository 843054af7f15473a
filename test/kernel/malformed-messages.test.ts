import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KernelClient } from "../../kernel/client/kernel-client";
import type { JupyterMessage } from "../../kernel/protocol/message";
import { makeHeader, sign } from "../../kernel/protocol/wire";
import { startKernel, textOf, waitForOutput } from "./kernel-fixture";

type Channel = "shell" | "control" | "stdin";

/**
 * Sends four frames exactly as given (a null header, content that is not an object), correctly
 * signed with the kernel's key: what a buggy or hostile client that holds the key can send.
 */
async function sendRaw(client: KernelClient, channel: Channel, header: unknown, content: unknown, parent: unknown = {}): Promise<void> {
  const parts = [header, parent, {}, content].map((part) => Buffer.from(JSON.stringify(part)));
  await client.sendFrames(channel, [Buffer.from("<IDS|MSG>"), Buffer.from(sign(client.connection.key, parts)), ...parts]);
}

function content<T>(message: JupyterMessage): T {
  return message.content as T;
}

/** The kernel still serves: an interrupt stops a `while (true) {}` cell, and `1 + 1` is 2. */
async function assertStillServing(client: KernelClient): Promise<void> {
  const running = await client.send("shell", "execute_request", { code: "console.log('spinning');\nwhile (true) {}", silent: false });
  await waitForOutput(client, running, "stream");
  const interrupt = await client.request("control", "interrupt_request", {}, 10_000);
  assert.equal(content<{ status: string }>(interrupt).status, "ok");
  assert.equal(content<{ ename: string }>(await client.replyTo(running, 20_000)).ename, "InterruptError");
  const { reply, outputs } = await client.execute("1 + 1");
  assert.equal(content<{ status: string }>(reply).status, "ok");
  assert.equal(textOf(outputs), "2");
}

const MALFORMED_HEADERS: Array<[string, unknown]> = [
  ["a null header", null],
  ["a header that is a string", "execute_request"],
  ["a header without msg_type", { msg_id: "no-type", session: "s", username: "u", date: "", version: "5.3" }],
  ["a header whose msg_id is a number", { ...makeHeader("interrupt_request", "s"), msg_id: 7 }],
];

describe("tokenlab kernel with malformed or hostile messages", function () {
  let client: KernelClient;
  let cleanup: () => Promise<void>;
  let notebookDir: string;

  before(async function () {
    notebookDir = mkdtempSync(join(tmpdir(), "tokenlab-malformed-"));
    ({ client, cleanup } = await startKernel(notebookDir));
  });
  after(async function () {
    await cleanup?.();
    rmSync(notebookDir, { recursive: true, force: true });
  });

  it("drops control messages with a malformed header and keeps reading control: a while(true) cell is still interrupted", async function () {
    for (const [, header] of MALFORMED_HEADERS) await sendRaw(client, "control", header, {});
    await assertStillServing(client);
    assert.match(client.kernelLog, /dropped a control message: malformed message: the header is not an object/);
    assert.match(client.kernelLog, /dropped a control message: malformed message: header\.msg_type is not a non-empty string/);
    assert.match(client.kernelLog, /dropped a control message: malformed message: header\.msg_id is not a non-empty string/);
  });

  it("drops shell and stdin messages with a malformed header or parent header without showing anything under the previous cell", async function () {
    const previous = await client.execute("'previous cell'");
    const before = client.iopubSoFar(previous.reply.parent_header.msg_id as string).length;
    for (const [, header] of MALFORMED_HEADERS) {
      await sendRaw(client, "shell", header, { code: "globalThis.ranMalformed = true" });
      await sendRaw(client, "stdin", header, { value: "x" });
    }
    await sendRaw(client, "shell", makeHeader("execute_request", "s"), { code: "globalThis.ranMalformed = true" }, null);
    await sendRaw(client, "shell", makeHeader("execute_request", "s"), { code: "globalThis.ranMalformed = true" }, { msg_id: 7 });
    const notJson = [Buffer.from("{not json"), Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}")];
    await client.sendFrames("shell", [Buffer.from("<IDS|MSG>"), Buffer.from(sign(client.connection.key, notJson)), ...notJson]);
    const after = await client.execute("(globalThis as any).ranMalformed === true");
    assert.equal(textOf(after.outputs), "false", "no malformed message was executed");
    assert.equal(client.iopubSoFar(previous.reply.parent_header.msg_id as string).length, before, "nothing new under the previous cell");
    assert.match(client.kernelLog, /dropped a shell message: malformed message: the header is not an object/);
    assert.match(client.kernelLog, /dropped a stdin message: malformed message: the header is not an object/);
    assert.match(client.kernelLog, /dropped a shell message: malformed message: the parent_header is not an object/);
    assert.match(client.kernelLog, /dropped a shell message: malformed message: parent_header\.msg_id is not a string/);
    assert.match(client.kernelLog, /dropped a shell message: malformed message: the header is not JSON/);
    await assertStillServing(client);
  });
});
