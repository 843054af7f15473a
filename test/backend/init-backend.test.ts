import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { backend, initBackend } from "../../lib/backend/init-backend";
import { TokenlabError } from "../../lib/errors/tokenlab-error";

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

describe("initBackend", () => {
  after(() => initBackend()); // leave the default backend active for the other test files

  it("picks the fastest installed backend and reports it", async () => {
    const expected = installed("@tensorflow/tfjs-node-gpu") ? "node-gpu" : installed("@tensorflow/tfjs-node") ? "node" : "wasm";
    assert.equal(await initBackend(), expected);
    assert.equal(backend(), expected);
  });

  it("honours an explicit choice and TOKENLAB_BACKEND, and refuses unknown or missing ones", async () => {
    assert.equal(await initBackend("cpu"), "cpu");
    assert.equal(tf.getBackend(), "cpu");
    process.env.TOKENLAB_BACKEND = "wasm";
    try {
      assert.equal(await initBackend(), "wasm");
      process.env.TOKENLAB_BACKEND = "tpu";
      await assert.rejects(initBackend(), (e: Error) => e instanceof TokenlabError && /TOKENLAB_BACKEND="tpu"/.test(e.message));
    } finally {
      delete process.env.TOKENLAB_BACKEND;
    }
    if (!installed("@tensorflow/tfjs-node")) {
      await assert.rejects(initBackend("node"), (e: Error) => e instanceof TokenlabError && /@tensorflow\/tfjs-node/.test(e.message));
    }
  });

  it("gives wasm an UnsortedSegmentSum, so gather (embedding) gradients match the cpu backend", async () => {
    const table = [[1, 2], [3, 4], [5, 6], [7, 8]];
    const ids = [3, 0, 3, 1, 3];
    const upstream = [[1, 0.5], [2, 1], [-1, 4], [0.25, 0.25], [3, -2]];
    const gradientOn = async (name: "cpu" | "wasm") => {
      await initBackend(name);
      return tf.tidy(() => {
        const dy = tf.tensor2d(upstream);
        const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(ids, "int32")), dy)))(tf.tensor2d(table));
        const segments = tf.unsortedSegmentSum(tf.tensor2d(upstream), tf.tensor1d([2, 0, 2, -1, 9], "int32"), 4);
        return [Array.from(grad.dataSync()), Array.from(segments.dataSync())];
      });
    };
    const [cpuGrad, cpuSegments] = await gradientOn("cpu");
    const [wasmGrad, wasmSegments] = await gradientOn("wasm");
    assert.deepEqual(wasmGrad, cpuGrad);
    assert.deepEqual(wasmGrad, [2, 1, 0.25, 0.25, 0, 0, 3, 2.5]); // row 3 sums three upstream rows
    assert.deepEqual(wasmSegments, cpuSegments);
  });
});
