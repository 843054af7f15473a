import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KernelClient } from "../../../kernel/client/kernel-client";
import type { JupyterMessage } from "../../../kernel/protocol/message";
import { startKernel, textOf, waitForOutput } from "../kernel-fixture";

interface Reply {
  status: string;
  execution_count: number;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

function replyOf(message: JupyterMessage): Reply {
  return message.content as unknown as Reply;
}

/**
 * A cell that fails or is interrupted keeps what it declared before it stopped, for the type
 * checker and at runtime, as in ipykernel and Deno. A name it declared but never reached is
 * known to the type checker and throws a ReferenceError when read, like `let` in its temporal
 * dead zone (Deno's semantics), until it is assigned or declared again.
 */
describe("declarations of a cell that fails or is interrupted", function () {
  let client: KernelClient;
  let cleanup: () => Promise<void>;
  let notebookDir: string;

  before(async function () {
    notebookDir = mkdtempSync(join(tmpdir(), "tokenlab-failed-cell-"));
    ({ client, cleanup } = await startKernel(notebookDir));
  });
  after(async function () {
    await cleanup?.();
    rmSync(notebookDir, { recursive: true, force: true });
  });

  /** Runs a cell that must succeed and returns its text/plain result. */
  async function value(code: string): Promise<string | undefined> {
    const { reply, outputs } = await client.execute(code);
    assert.equal(replyOf(reply).status, "ok", `${code}\n${(replyOf(reply).traceback ?? []).join("\n")}`);
    return textOf(outputs);
  }

  /** Runs a cell that must fail and returns its reply. */
  async function failure(code: string): Promise<Reply> {
    const replied = replyOf((await client.execute(code)).reply);
    assert.equal(replied.status, "error", code);
    return replied;
  }

  /** Starts a cell, waits for its first print, interrupts it and returns its reply. */
  async function interrupted(code: string): Promise<Reply> {
    const running = await client.send("shell", "execute_request", { code, silent: false });
    await waitForOutput(client, running, "stream");
    await client.request("control", "interrupt_request", {});
    const replied = replyOf(await client.replyTo(running, 20_000));
    assert.equal(replied.ename, "InterruptError");
    return replied;
  }

  it("keeps values, functions and classes declared before a synchronous throw, with their types", async function () {
    await failure(
      "const kept = { n: 20 };\n" +
        "function double(v: number): number { return v * 2; }\n" +
        "class Box { constructor(readonly v: number) {} }\n" +
        "throw new Error('after declaring');",
    );
    assert.equal(await value("double(kept.n) + new Box(2).v"), "42");
    // The type checker still knows kept.n is a number: a wrong use is a type error, not TS2304.
    const typeError = await failure("const wrong: string = kept.n;");
    assert.equal(typeError.ename, "TypeScriptError");
    assert.match(typeError.evalue ?? "", /Type 'number' is not assignable to type 'string'/);
  });

  it("keeps a function declared after the throw (functions are hoisted) and leaves later names uninitialized", async function () {
    const failed = await failure("throw new Error('early');\nfunction hoisted(): string { return 'hoisted'; }\nconst unreached = 'never set';");
    assert.equal(await value("hoisted()"), "'hoisted'");
    const read = await failure("unreached.length");
    assert.equal(read.ename, "ReferenceError");
    assert.match(read.evalue ?? "", new RegExp(`unreached is not initialized: cell\\[${failed.execution_count}\\] stopped before`));
  });

  it("keeps a declaration whose initializer threw declared: reading it is a ReferenceError, assigning it works", async function () {
    await failure("let parsed: number = JSON.parse('{');");
    const read = await failure("parsed + 1");
    assert.equal(read.ename, "ReferenceError");
    assert.doesNotMatch(read.evalue ?? "", /Cannot find name/);
    assert.equal(await value("parsed = 4;\nparsed * 2"), "8");
  });

  it("keeps declarations and reassignments made before an awaited promise rejected", async function () {
    await failure("let counter = 1;\nawait new Promise((r) => setTimeout(r, 10));\ncounter = 2;\nawait Promise.reject(new Error('async'));");
    assert.equal(await value("counter + 1"), "3");
  });

  it("keeps a run and a reassigned let when an awaited long promise is interrupted", async function () {
    await interrupted(
      "const run = { steps: 3, resume(): string { return `resumed at ${this.steps}`; }, finished: new Promise<void>(() => {}) };\n" +
        "let phase = 'starting';\n" +
        "phase = 'training';\n" +
        "console.log('waiting');\n" +
        "await run.finished;\n" +
        "const report = 'done';",
    );
    assert.equal(await value("run.resume() + ' while ' + phase"), "'resumed at 3 while training'");
    assert.equal((await failure("report")).ename, "ReferenceError");
  });

  it("keeps declarations when a synchronous loop is interrupted", async function () {
    await interrupted("let loops = 0;\nconst loopLabel = 'busy';\nconsole.log('spinning');\nwhile (true) { loops++; }");
    assert.equal(await value("`${loopLabel} ${loops > 0}`"), "'busy true'");
  });

  it("keeps declarations when a loop after the first await is terminated by the hard stop", async function () {
    await interrupted(
      "let hardLoops = 0;\n" +
        "await new Promise((r) => setTimeout(r, 10));\n" +
        "const afterAwait = 'declared after await';\n" +
        "console.log('spinning after await');\n" +
        "while (true) { hardLoops++; }",
    );
    assert.equal(await value("`${afterAwait} ${hardLoops > 0}`"), "'declared after await true'");
  });

  it("makes an earlier cell's name uninitialized when a failed cell declared it again but never reached it", async function () {
    // As in Deno: the failed cell's declaration (and its type) replaces the old one, so the old value
    // must not pass for the new type.
    await value("const shadowed = 1;");
    await failure("throw new Error('x');\nconst shadowed = 'text';");
    assert.equal((await failure("shadowed")).ename, "ReferenceError");
  });

  it("lets a later cell declare a kept or uninitialized name again, with a new type", async function () {
    await failure("const again = 1;\nthrow new Error('x');\nconst notYet = 2;");
    assert.equal(await value("const again = 'text';\nconst notYet = [1, 2];\nagain.length + notYet.length"), "6");
  });

  it("shows a failed cell's declarations to completion", async function () {
    await failure("const completedAfterFailure = 1;\nthrow new Error('x');");
    const reply = await client.request("shell", "complete_request", { code: "completedAft", cursor_pos: 12 });
    assert.ok((reply.content as { matches: string[] }).matches.includes("completedAfterFailure"));
  });

  it("keeps the previous declarations when a cell does not compile", async function () {
    await value("const stable = 5;");
    assert.equal((await failure("const stable: string = 1;")).ename, "TypeScriptError");
    assert.equal(await value("stable * 2"), "10");
  });
});
