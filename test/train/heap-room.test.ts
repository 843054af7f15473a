import * as assert from "node:assert/strict";
import * as path from "node:path";
import { ROOT, runAfterWasmInit } from "../backend/wasm-process";

const module = (file: string) => JSON.stringify(path.join(ROOT, file));

describe("training whole tensors that cannot fit in the wasm heap", function () {
  this.timeout(300_000);

  it("is refused before any widening, while new rows still train; with the heap free again the same run trains", () => {
    // In a process of its own (the heap never shrinks): a model of ~17M parameters, whose full
    // fine-tuning needs ~0.13 GB of values and gradients, and 16 MB tensors that leave less free.
    const { status, stdout, stderr } = runAfterWasmInit(`
      const tf = require(${module("node_modules/@tensorflow/tfjs-core")});
      const { trainFixture } = require(${module("test/train/train-fixture")});
      const { train } = require(${module("lib/train/train")});
      const { wasmHeapRoom } = require(${module("lib/backend/wasm-heap-guard")});
      (async () => {
        const fx = await trainFixture({ hiddenSize: 512, intermediateSize: 2048, numLayers: 4, numHeads: 8 });
        const options = { steps: 1, batchSize: 2, lr: 0.01 };
        const filler = [];
        while (wasmHeapRoom() - 2 ** 24 >= 80 * 2 ** 20) filler.push(tf.zeros([2 ** 22]));
        const room = wasmHeapRoom();
        const tensorsBefore = tf.memory().numTensors;
        let refused;
        try {
          train({ model: fx.model, newIds: fx.newIds }, fx.data, { ...options, strategy: "full" });
        } catch (error) {
          refused = { name: error.name, message: error.message };
        }
        const leaked = tf.memory().numTensors - tensorsBefore;
        const newRows = train({ model: fx.model, newIds: fx.newIds }, fx.data, { ...options, strategy: "new-rows" });
        await newRows;
        tf.dispose(filler);
        const full = train({ model: fx.model, newIds: fx.newIds }, fx.data, { ...options, strategy: "full" });
        await full;
        console.log(JSON.stringify({ room, refused, leaked, newRowsLoss: newRows.history[0].loss, fullLoss: full.history[0].loss }));
        process.exit(0);
      })();
    `);
    assert.equal(status, 0, stderr);
    const result = JSON.parse(stdout.trim().split("\n").pop()!);
    assert.ok(result.room >= 80 * 2 ** 20 && result.room < 96 * 2 ** 20, `${result.room} bytes free`);
    assert.equal(result.refused?.name, "TrainingError", JSON.stringify(result.refused));
    assert.match(result.refused.message, /^training \d+ tensors whole needs 0\.1\d GB more of the wasm heap \(their float32 values and gradients\), and at most 0\.0\d GB of its 4 GB are free: train the new rows/);
    assert.equal(result.leaked, 0, "tensors left behind by the refused run");
    assert.ok(Number.isFinite(result.newRowsLoss) && Number.isFinite(result.fullLoss), JSON.stringify(result));
  });
});
