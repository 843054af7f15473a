import * as assert from "node:assert/strict";
import * as path from "node:path";
import { ROOT, runAfterWasmInit } from "./wasm-process";

const module = (file: string) => JSON.stringify(path.join(ROOT, file));

describe("work that cannot fit in what the wasm heap has left", function () {
  this.timeout(300_000);

  it("is refused at once (training whole tensors, loading a checkpoint), leaving nothing behind; what fits still runs", () => {
    // In a process of its own (the heap never shrinks): a model of ~17M parameters (68 MB as float32,
    // full fine-tuning needs ~0.13 GB of values and gradients), then 16 MB tensors that leave 80–96 MB.
    const { status, stdout, stderr } = runAfterWasmInit(`
      const tf = require(${module("node_modules/@tensorflow/tfjs-core")});
      const { trainFixture } = require(${module("test/train/train-fixture")});
      const { train } = require(${module("lib/train/train")});
      const { loadModel } = require(${module("lib/models/load-model")});
      const { wasmHeapRoom } = require(${module("lib/backend/wasm-heap-guard")});
      const attempt = (work) => {
        const tensors = tf.memory().numTensors;
        try {
          work();
          return { ok: true };
        } catch (error) {
          return { name: error.name, message: error.message, leaked: tf.memory().numTensors - tensors };
        }
      };
      (async () => {
        const fx = await trainFixture({ hiddenSize: 512, intermediateSize: 2048, numLayers: 4, numHeads: 8 });
        const options = { steps: 1, batchSize: 2, lr: 0.01 };
        const filler = [];
        while (wasmHeapRoom() - 2 ** 24 >= 80 * 2 ** 20) filler.push(tf.zeros([2 ** 22]));
        const room = wasmHeapRoom();
        const fullTraining = attempt(() => train({ model: fx.model, newIds: fx.newIds }, fx.data, { ...options, strategy: "full" }));
        const newRows = train({ model: fx.model, newIds: fx.newIds }, fx.data, { ...options, strategy: "new-rows" });
        await newRows;
        const second = await loadModel(fx.model.source); // 68 MB: fits
        let third;
        try {
          await loadModel(fx.model.source); // no longer fits
        } catch (error) {
          third = { name: error.name, message: error.message };
        }
        second.dispose();
        tf.dispose(filler);
        const full = train({ model: fx.model, newIds: fx.newIds }, fx.data, { ...options, strategy: "full" });
        await full;
        console.log(JSON.stringify({ room, fullTraining, third, newRowsLoss: newRows.history[0].loss, fullLoss: full.history[0].loss }));
        process.exit(0);
      })();
    `);
    assert.equal(status, 0, stderr);
    const result = JSON.parse(stdout.trim().split("\n").pop()!);
    assert.ok(result.room >= 80 * 2 ** 20 && result.room < 96 * 2 ** 20, `${result.room} bytes free`);
    assert.equal(result.fullTraining.name, "TrainingError", JSON.stringify(result.fullTraining));
    assert.match(result.fullTraining.message, /^training \d+ tensors whole needs 0\.1\d GB more of the wasm heap \(their float32 values and gradients\), and at most 0\.0\d GB of its 4 GB are free: train the new rows/);
    assert.equal(result.fullTraining.leaked, 0, "tensors left behind by the refused run");
    assert.equal(result.third?.name, "TokenlabError", JSON.stringify(result.third));
    assert.match(result.third.message, /: its weights take 0\.0\d GB on the heap, and at most 0\.0\d GB of the 4 GB wasm heap are free: dispose of models you no longer need/);
    assert.ok(Number.isFinite(result.newRowsLoss) && Number.isFinite(result.fullLoss), JSON.stringify(result));
  });
});
