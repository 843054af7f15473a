import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { train } from "../../lib/train/train";
import { disposeModels, trainFixture } from "./train-fixture";

/**
 * PEFT TrainableTokens' promise: training only the new rows needs gradients and optimizer state of
 * O(k·hidden), whatever the vocabulary. Measured on the real model core with a 150k-row vocabulary
 * against a ~330-row one: trainable elements and the tensor memory a run keeps between steps.
 */
describe("new-rows training memory", function () {
  this.timeout(180000);

  async function measure(vocabSize?: number): Promise<{ elements: number; retainedBytes: number; retainedTensors: number; vocabRows: number }> {
    const fx = await trainFixture({ tied: true, vocabSize, numLayers: 1 });
    try {
      const before = tf.memory();
      const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, { steps: 3, batchSize: 2, evalFraction: 0, evalEvery: 3 });
      const result = await run;
      disposeModels(fx.model, result.latest, result.best?.model);
      const after = tf.memory();
      const measured = {
        elements: run.trainableElements,
        retainedBytes: after.numBytes - before.numBytes,
        retainedTensors: after.numTensors - before.numTensors,
        vocabRows: fx.model.config.vocabSize,
      };
      run.dispose();
      assert.equal(tf.memory().numTensors, before.numTensors, "dispose() frees the run's state");
      return measured;
    } finally {
      fx.cleanup();
    }
  }

  it("keeps gradients, optimizer state and retained memory independent of a 150k vocabulary", async () => {
    const small = await measure();
    const large = await measure(150_000);
    assert.equal(large.vocabRows, 150_000);
    assert.ok(small.vocabRows < 1000);
    const hidden = 32;
    assert.equal(small.elements, 2 * hidden);
    assert.equal(large.elements, small.elements);
    assert.equal(large.retainedTensors, small.retainedTensors);
    assert.equal(large.retainedBytes, small.retainedBytes);
    // Variables + two AdamW moments + the best snapshot, all [k, hidden] float32: a few KB, not 150k × 32 × 4 = 19 MB.
    assert.ok(large.retainedBytes <= 8 * small.elements * 4, `retained ${large.retainedBytes} bytes`);
  });
});
