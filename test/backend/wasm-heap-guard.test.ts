import * as assert from "node:assert/strict";
import * as path from "node:path";
import { ROOT, runAfterWasmInit } from "./wasm-process";

const TFJS = JSON.stringify(path.join(ROOT, "node_modules/@tensorflow/tfjs-core"));

describe("the wasm heap at its 4 GB end", function () {
  this.timeout(180_000);

  it("refuses the tensor that does not fit with a clear error, keeps every tensor made before intact, and goes on computing", () => {
    // 256 MB tensors until the heap is full, in a process of its own: the heap never shrinks.
    const { status, stdout, stderr } = runAfterWasmInit(`
      const tf = require(${TFJS});
      const kept = [];
      let error;
      try {
        for (let i = 1; i <= 20; i++) kept.push(tf.fill([64 * 2 ** 20], i));
      } catch (e) {
        error = e;
      }
      const made = kept.length;
      tf.dispose(kept.pop()); // room for the reductions' own scratch memory
      const intact = kept.every((t, i) => tf.min(t).dataSync()[0] === i + 1 && tf.max(t).dataSync()[0] === i + 1);
      tf.dispose(kept);
      const after = tf.sum(tf.fill([1000], 2)).dataSync()[0];
      console.log(JSON.stringify({ made, name: error && error.name, message: error && error.message, intact, after }));
    `);
    assert.equal(status, 0, stderr);
    const result = JSON.parse(stdout.trim().split("\n").pop()!);
    assert.ok(result.made >= 12 && result.made < 16, `${result.made} tensors of 256 MB fit`);
    assert.equal(result.name, "TokenlabError", result.message);
    assert.match(result.message, /^the wasm heap is full: no room for 256\.0 MB more \(tensors hold \d\.\d\d GB; the wasm32 heap ends at 4 GB\)/);
    assert.equal(result.intact, true, "a tensor made before the refused one was overwritten");
    assert.equal(result.after, 2000);
  });
});
