import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";

describe("wasm Identity (clone)", () => {
  before(() => initBackend("wasm"));
  after(() => initBackend());

  it("shares the input's memory, keeps it alive until the last reference and keeps values", () => {
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const wasmBackend = tf.backend() as unknown as { numDataIds(): number };
    const before = wasmBackend.numDataIds();
    const copy = tf.clone(x);
    assert.equal(wasmBackend.numDataIds(), before, "no second buffer for the clone");
    x.dispose();
    assert.deepEqual(Array.from(copy.dataSync()), [1, 2, 3, 4, 5, 6]);
    copy.dispose();
    assert.equal(wasmBackend.numDataIds(), before - 1, "the buffer is freed with the last reference");
  });

  it("saves gradient inputs without copying a frozen matrix", () => {
    const frozen = tf.randomNormal([64, 8], 0, 1, "float32", 3);
    const rows = tf.variable(tf.randomNormal([2, 8], 0, 1, "float32", 4));
    const wasmBackend = tf.backend() as unknown as { numDataIds(): number };
    const before = wasmBackend.numDataIds();
    let during = 0;
    const { grads, value } = tf.variableGrads(() => {
      const logits = tf.matMul(tf.matMul(rows, frozen, false, true), frozen); // [2, 8]
      during = wasmBackend.numDataIds();
      return tf.sum(tf.square(logits));
    }, [rows]);
    // Two results of the two matMuls exist while recording; a copying Identity would add one buffer per saved input.
    assert.equal(during - before, 2);
    assert.ok(Number.isFinite(value.dataSync()[0]));
    tf.dispose([value, ...Object.values(grads), frozen, rows]);
  });
});
