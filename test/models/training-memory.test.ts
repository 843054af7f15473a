import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { loadModel } from "../../lib/models/load-model";
import { AdamW } from "../../lib/train/adamw";
import { clipGradients } from "../../lib/train/clip-gradients";
import { crossEntropy } from "../../lib/train/cross-entropy";
import { writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";

describe("a training loop on the model core", function () {
  this.timeout(300_000);

  it("runs 200 steps (forward with padding mask, loss, backward, clip, AdamW) with a flat tensor count and falling loss", async () => {
    await initBackend();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-mem-"));
    try {
      writeTinyCheckpoint(dir, { architecture: "Qwen2ForCausalLM", hiddenSize: 16, intermediateSize: 32, numHeads: 2, numKeyValueHeads: 1, seed: 5 });
      const model = await loadModel(dir);
      const variables = new Map([...model.weights].map(([name, w]) => [name, tf.variable(w, true, `mem-test/${name}`)]));
      const optimizer = new AdamW([{ name: "all", params: [...variables.values()], learningRate: 3e-3, weightDecay: 0.01 }]);
      const ids = tf.tensor2d([[5, 6, 7, 8, 9, 10], [0, 0, 20, 21, 22, 23]], undefined, "int32");
      const mask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]], undefined, "int32");
      const labels = tf.tensor2d([[6, 7, 8, 9, 10, -100], [-100, -100, 21, 22, 23, -100]], undefined, "int32");
      const losses: number[] = [];
      let countAfterWarmup = 0;
      for (let step = 0; step < 200; step++) {
        const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(variables, ids, mask), labels).loss);
        const clipped = clipGradients(grads, 1.0);
        optimizer.step(clipped.grads);
        losses.push(value.dataSync()[0]);
        tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
        if (step === 1) countAfterWarmup = tf.memory().numTensors; // optimizer state exists from step 1 on
      }
      assert.equal(tf.memory().numTensors, countAfterWarmup);
      assert.ok(losses[199] < losses[0] / 2, `loss fell from ${losses[0]} to ${losses[199]}`);
      optimizer.dispose();
      tf.dispose([ids, mask, labels, ...variables.values()]);
      model.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
