import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import type { WeightMap } from "../../lib/models/causal-lm";
import { loadModel } from "../../lib/models/load-model";
import { crossEntropy } from "../../lib/train/cross-entropy";
import { type TinyArchitecture, writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";
import { relativeError } from "../reference/run-reference";


describe("row overlays (new rows trained without composing the vocab matrix)", function () {
  this.timeout(300_000);
  let root: string;
  before(async () => {
    await initBackend("wasm");
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-overlay-"));
  });
  after(async () => {
    fs.rmSync(root, { recursive: true, force: true });
    await initBackend();
  });

  const cases: Array<[TinyArchitecture, boolean]> = [
    ["LlamaForCausalLM", true],
    ["Qwen3ForCausalLM", false],
    ["GPT2LMHeadModel", true],
  ];
  for (const [architecture, tied] of cases) {
    it(`${architecture} ${tied ? "tied" : "untied"}: logits and row gradients equal those of the composed matrix`, async () => {
      const dir = path.join(root, `${architecture}-${tied}`);
      const { tokenizerSize } = writeTinyCheckpoint(dir, { architecture, tied, seed: 7 });
      const model = await loadModel(dir);
      // Ids in token rows, a padding row, not consecutive, and two past the stored matrix (tokens
      // added to a model that shares its matrices): every case of the lookup and the column scatter.
      const stored = model.weights.get(model.layout.embedding)!.shape[0];
      const ids = [3, 4, 40, tokenizerSize + 1, stored, stored + 1];
      const names = [model.layout.embedding, ...(model.layout.head ? [model.layout.head] : [])];
      const rows = names.map((_, i) => tf.variable(tf.randomNormal([ids.length, model.config.hiddenSize], 0, 0.3, "float32", 20 + i)));
      const input = tf.tensor2d([[1, 3, 4, 9, 40, tokenizerSize + 1, stored + 1, 2, stored, 3]], undefined, "int32");
      const labels = tf.tensor2d([[3, 4, 9, 40, tokenizerSize + 1, stored + 1, 2, stored, 3, 4]], undefined, "int32");
      // Reference: the full matrix base·keep + P·rows with P the [V, k] one-hot placement of the ids
      // (the base padded with zero rows up to V).
      const vocab = stored + 2;
      const keep = tf.tensor2d(Array.from({ length: vocab }, (_, v) => [ids.includes(v) ? 0 : 1]), [vocab, 1]);
      const placement = tf.oneHot(tf.tensor1d(ids, "int32"), vocab).transpose().toFloat(); // [V, k]
      const compose = (name: string, i: number) => tf.add(tf.mul(tf.pad(model.weights.get(name)!, [[0, 2], [0, 0]]), keep), tf.matMul(placement, rows[i]));

      const withOverlay = tf.variableGrads(() => {
        const overlays = new Map(names.map((name, i) => [name, { ids, rows: rows[i] as tf.Tensor as tf.Tensor2D }]));
        return crossEntropy(model.forward(model.weights, input, undefined, { overlays }), labels).loss;
      }, rows);
      const composed = tf.variableGrads(() => {
        const weights = new Map(model.weights) as Map<string, tf.Tensor>;
        names.forEach((name, i) => weights.set(name, compose(name, i)));
        return crossEntropy(model.forward(weights as WeightMap, input), labels).loss;
      }, rows);
      const logitsOverlay = tf.tidy(() => model.forward(model.weights, input, undefined, { overlays: new Map(names.map((n, i) => [n, { ids, rows: rows[i] as tf.Tensor as tf.Tensor2D }])) }));
      const logitsComposed = tf.tidy(() => {
        const weights = new Map(model.weights) as Map<string, tf.Tensor>;
        names.forEach((name, i) => weights.set(name, compose(name, i)));
        return model.forward(weights as WeightMap, input);
      });
      assert.ok(relativeError(logitsOverlay.dataSync(), logitsComposed.dataSync()) < 1e-5, "logits");
      assert.ok(Math.abs(withOverlay.value.dataSync()[0] - composed.value.dataSync()[0]) < 1e-5, "loss");
      for (const row of rows) {
        const g = withOverlay.grads[row.name].dataSync();
        assert.ok(g.some((v) => v !== 0), "the rows get a gradient");
        assert.ok(relativeError(g, composed.grads[row.name].dataSync()) < 1e-4, `gradient of ${row.name}`);
      }
      tf.dispose([withOverlay.value, composed.value, ...Object.values(withOverlay.grads), ...Object.values(composed.grads)]);
      tf.dispose([logitsOverlay, logitsComposed, input, labels, keep, placement, ...rows]);
      model.dispose();
    });
  }
});
