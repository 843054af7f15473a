import * as assert from "node:assert/strict";
import { runAfterWasmInit } from "./wasm-process";

/** Fragments of the emscripten glue that Node printed as the "source line" of the rethrow. */
const GLUE = /WasmBackendModule|readyPromiseResolve|beforeListeners|ExitStatus/;

describe("uncaught errors after the wasm backend initializes", function () {
  this.timeout(180_000);

  for (const [label, body] of [
    ["a thrown error", `setTimeout(() => { throw new Error("the real problem 42"); }, 0);`],
    ["an unhandled rejection", `Promise.reject(new Error("the real problem 42"));`],
  ]) {
    it(`${label} prints its own message and stack, not the module's minified source, and exits non-zero`, () => {
      const { status, stderr } = runAfterWasmInit(body);
      assert.notEqual(status, 0);
      assert.match(stderr, /Error: the real problem 42\n\s+at .*script\.ts:\d+/);
      assert.doesNotMatch(stderr, GLUE);
      assert.ok(stderr.length < 2000, `stderr is ${stderr.length} characters`);
    });
  }

  it("leaves uncaught errors to the script's own listener when it has one", () => {
    const { status, stdout, stderr } = runAfterWasmInit(
      `process.on("uncaughtException", (e) => console.log("handled:", e.message));\n` +
        `setTimeout(() => { throw new Error("first"); }, 0);\nsetTimeout(() => console.log("still running"), 20);`,
    );
    assert.equal(status, 0, stderr);
    assert.equal(stdout, "handled: first\nstill running\n");
  });
});
