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

  it("answers execute_request without code, with code 42 or with null content by an error reply, and executes nothing", async function () {
    const count = content<{ execution_count: number }>((await client.execute("'count'")).reply).execution_count;
    for (const [body, evalue] of [
      [{ silent: false }, /^execute_request: content\.code must be a string \(got missing\)$/],
      [{ code: 42 }, /content\.code must be a string \(got 42\)/],
      [null, /^execute_request: the content is not an object \(got null\)$/],
      [{ code: "1", silent: "no" }, /content\.silent must be a boolean \(got "no"\)/],
    ] as const) {
      const header = makeHeader("execute_request", "s");
      await sendRaw(client, "shell", header, body);
      const reply = await client.replyTo(header.msg_id, 10_000);
      assert.equal(reply.header.msg_type, "execute_reply");
      const answer = content<{ status: string; ename: string; evalue: string; traceback: string[]; execution_count: number }>(reply);
      assert.equal(answer.status, "error");
      assert.equal(answer.ename, "InvalidRequestError");
      assert.match(answer.evalue, evalue);
      assert.deepEqual(answer.traceback, [`InvalidRequestError: ${answer.evalue}`]);
      assert.equal(answer.execution_count, count, "an invalid request takes no execution count");
      const states = (await client.iopubFor(header.msg_id)).map((m) => m.content.execution_state ?? m.header.msg_type);
      assert.deepEqual(states, ["busy", "idle"], "no execute_input, no output: nothing ran");
    }
    await assertStillServing(client);
  });

  it("answers every other request kind with invalid content by an error reply of its own type", async function () {
    const cases: Array<[Channel, string, unknown, RegExp]> = [
      ["shell", "is_complete_request", { code: 7 }, /is_complete_request: content\.code must be a string \(got 7\)/],
      ["shell", "complete_request", { code: null, cursor_pos: 0 }, /complete_request: content\.code must be a string \(got null\)/],
      ["shell", "complete_request", { code: "Math.fl", cursor_pos: -1 }, /content\.cursor_pos must be a non-negative integer \(got -1\)/],
      ["shell", "inspect_request", { code: "Math", cursor_pos: "2" }, /inspect_request: content\.cursor_pos must be a non-negative integer/],
      ["shell", "history_request", { hist_access_type: "everything" }, /content\.hist_access_type must be one of "tail", "range", "search"/],
      ["shell", "comm_info_request", { target_name: 3 }, /comm_info_request: content\.target_name must be a string/],
      ["shell", "kernel_info_request", null, /kernel_info_request: the content is not an object/],
      ["control", "kernel_info_request", [], /the content is not an object \(got \[\]\)/],
      ["control", "shutdown_request", { restart: "yes" }, /shutdown_request: content\.restart must be a boolean/],
    ];
    for (const [channel, msgType, body, evalue] of cases) {
      const header = makeHeader(msgType, "s");
      await sendRaw(client, channel, header, body);
      const reply = await client.replyTo(header.msg_id, 10_000);
      assert.equal(reply.header.msg_type, msgType.replace("_request", "_reply"));
      const answer = content<{ status: string; ename: string; evalue: string }>(reply);
      assert.deepEqual([answer.status, answer.ename], ["error", "InvalidRequestError"], msgType);
      assert.match(answer.evalue, evalue);
    }
    assert.equal(client.process.exitCode, null, "an invalid shutdown_request does not end the kernel");
    await assertStillServing(client);
  });

  it("drops comm messages and input replies with invalid content, logging why", async function () {
    await sendRaw(client, "shell", makeHeader("comm_open", "s"), { target_name: "echo", data: {} });
    await sendRaw(client, "shell", makeHeader("comm_msg", "s"), { comm_id: "c", data: "not an object" });
    await sendRaw(client, "stdin", makeHeader("input_reply", "s"), { value: 5 });
    await assertStillServing(client);
    assert.match(client.kernelLog, /comm_open failed: comm_open: content\.comm_id must be a string \(got missing\)/);
    assert.match(client.kernelLog, /comm_msg failed: comm_msg: content\.data must be an object/);
    assert.match(client.kernelLog, /dropped a stdin message: input_reply: content\.value must be a string \(got 5\)/);
  });

  it("clamps complete_request's cursor_pos to the code and counts it in unicode code points", async function () {
    const complete = async (code: string, cursorPos: number | null) =>
      content<{ status: string; matches: string[]; cursor_start: number; cursor_end: number }>(
        await client.request("shell", "complete_request", { code, cursor_pos: cursorPos }),
      );
    const code = "Math.fl";
    for (const cursorPos of [7, 8, 1000, null]) {
      const answer = await complete(code, cursorPos);
      assert.equal(answer.status, "ok");
      assert.deepEqual([answer.cursor_start, answer.cursor_end], [5, 7], `cursor_pos ${cursorPos}`);
      assert.ok(answer.matches.includes("floor"));
    }
    // Two emoji are four UTF-16 units but two code points, as Jupyter counts them.
    const emoji = 'const face = "😀😀";\nMath.fl';
    const codePoints = [...emoji];
    const answer = await complete(emoji, codePoints.length);
    assert.deepEqual([answer.cursor_start, answer.cursor_end], [codePoints.length - 2, codePoints.length]);
    assert.equal(codePoints.slice(answer.cursor_start, answer.cursor_end).join(""), "fl");
    assert.ok(answer.matches.includes("floor"));
    const beyond = await complete(emoji, codePoints.length + 50);
    assert.deepEqual([beyond.cursor_start, beyond.cursor_end], [answer.cursor_start, answer.cursor_end]);
  });

  it("inspects at a code-point cursor after emoji", async function () {
    const code = 'const face = "😀😀"; Math.floor';
    // On the "f" of floor in code points; read as UTF-16 units it would sit two earlier, in "Math".
    const answer = content<{ status: string; found: boolean; data: Record<string, string> }>(
      await client.request("shell", "inspect_request", { code, cursor_pos: [...code].length - 5, detail_level: 0 }),
    );
    assert.equal(answer.status, "ok");
    assert.ok(answer.found);
    assert.match(answer.data["text/plain"]!, /floor\(x: number\): number/);
  });
});
