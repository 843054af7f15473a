import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { loadModel } from "../../lib/models/load-model";
import { crossEntropy } from "../../lib/train/cross-entropy";
import { writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";

describe("checkpointBlocks (each block recomputed in the backward pass)", function () {
  this.timeout(300_000);
  let dir: string;
  before(async () => {
    await initBackend("wasm");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-ckpt-"));
  });
  after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await initBackend();
  });

  it("gives the same loss and the same gradients for trainable block weights and overlay rows, and frees its tensors", async () => {
    const { tokenizerSize } = writeTinyCheckpoint(dir, { architecture: "Qwen3ForCausalLM", seed: 9 });
    const model = await loadModel(dir);
    const trained = ["model.layers.0.mlp.up_proj.weight", "model.layers.1.self_attn.q_proj.weight", "model.layers.1.input_layernorm.weight"];
    const variables = trained.map((name) => tf.variable(model.weights.get(name)!, true, `ckpt-test/${name}`));
    const rows = tf.variable(tf.randomNormal([2, model.config.hiddenSize], 0, 0.3, "float32", 5), true, "ckpt-test/rows");
    const weights = new Map(model.weights);
    trained.forEach((name, i) => weights.set(name, variables[i]));
    const overlays = new Map([[model.layout.embedding, { ids: [5, tokenizerSize + 1], rows: rows as tf.Tensor as tf.Tensor2D }]]);
    const input = tf.tensor2d([[1, 5, 7, tokenizerSize + 1, 9, 5]], undefined, "int32");
    const labels = tf.tensor2d([[5, 7, tokenizerSize + 1, 9, 5, 2]], undefined, "int32");
    const step = (checkpointBlocks: boolean) =>
      tf.variableGrads(() => crossEntropy(model.forward(weights, input, undefined, { overlays, checkpointBlocks }), labels).loss, [...variables, rows]);

    const plain = step(false);
    const before = tf.memory().numTensors;
    const recomputed = step(true);
    assert.equal(tf.memory().numTensors - before, 1 + variables.length + 1, "only the loss and the gradients remain");
    assert.ok(Math.abs(plain.value.dataSync()[0] - recomputed.value.dataSync()[0]) < 1e-6);
    for (const variable of [...variables, rows]) {
      const a = plain.grads[variable.name].dataSync();
      const b = recomputed.grads[variable.name].dataSync();
      assert.ok(a.some((v) => v !== 0), `${variable.name} has a gradient`);
      const error = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
      assert.ok(error < 1e-5, `${variable.name}: max difference ${error}`);
    }
    tf.dispose([plain.value, recomputed.value, ...Object.values(plain.grads), ...Object.values(recomputed.grads)]);
    tf.dispose([input, labels, rows, ...variables]);
    model.dispose();
  });
});
