import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { prepareData } from "../../lib/data/prepare-data";
import { bf16ToFloat32, float32ToBf16 } from "../../lib/hf/float-formats";
import { readSafetensors } from "../../lib/hf/safetensors";
import type { CausalLM } from "../../lib/models/causal-lm";
import { loadModel, saveModel } from "../../lib/models/load-model";
import { gatherRows, isPacked } from "../../lib/models/packed-weights";
import { addTokens } from "../../lib/tokens/add-tokens";
import { initReport } from "../../lib/tokens/init-report";
import { train } from "../../lib/train/train";
import type { TrainOptions } from "../../lib/train/train-options";
import { writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";
import { disposeModels } from "../train/train-fixture";
import { materializedMatrix } from "../../lib/models/model-rows";

/**
 * loadModel(dir, {keepBf16: true}) beyond the forward pass (golden-outputs.test.ts checks that against
 * PyTorch): saving is bit-exact, and training runs as on the float32 load of the same checkpoint.
 */
describe("BF16 weights kept 16-bit (loadModel keepBf16)", function () {
  this.timeout(300_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-keep-bf16-"));
  before(() => initBackend("wasm"));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("saves every tensor with exactly the bytes it was loaded from", async () => {
    const dir = path.join(root, "source");
    writeTinyCheckpoint(dir, { dtype: "BF16", tied: false });
    const model = await loadModel(dir, { keepBf16: true });
    try {
      await saveModel(model, path.join(root, "saved"));
    } finally {
      model.dispose();
    }
    const before = readSafetensors(path.join(dir, "model.safetensors")).tensors;
    const after = readSafetensors(path.join(root, "saved", "model.safetensors")).tensors;
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
    for (const [name, entry] of before) {
      assert.equal(after.get(name)!.dtype, "BF16", name);
      assert.ok(Buffer.from(after.get(name)!.raw).equals(Buffer.from(entry.raw)), `${name} bytes differ`);
    }
  });

  it("generates the same greedy continuation as the float32 load (KV cache through packed matrices)", async () => {
    const dir = path.join(root, "generate");
    writeTinyCheckpoint(dir, { dtype: "BF16", tied: true, seed: 7 });
    const continuation = async (keepBf16: boolean) => {
      const model = await loadModel(dir, { keepBf16 });
      try {
        return (await model.generate("the fox", { maxNewTokens: 8, temperature: 0 })).ids;
      } finally {
        model.dispose();
      }
    };
    const kept = await continuation(true);
    assert.equal(kept.length, 8);
    assert.deepEqual(kept, await continuation(false));
  });

  it("refuses keepBf16 on a backend without its kernels", async () => {
    const dir = path.join(root, "cpu");
    writeTinyCheckpoint(dir, { dtype: "BF16" });
    await initBackend("cpu");
    try {
      await assert.rejects(loadModel(dir, { keepBf16: true }), /keepBf16 needs the wasm backend/);
    } finally {
      await initBackend("wasm");
    }
  });

  it("adds tokens to a packed embedding: it grows packed, new rows are the float32 path's rows rounded to bf16", async () => {
    const dir = path.join(root, "add");
    writeTinyCheckpoint(dir, { dtype: "BF16", tied: false });
    const tokens = [{ content: "<fox>", init: "mean" as const }, { content: "<dog>", init: { from: "the dog" } }, { content: "<cat>", init: "mvn-mean" as const }];
    const rowsOf = async (keepBf16: boolean) => {
      const model = await loadModel(dir, { keepBf16 });
      const result = addTokens(model, tokens, { padToMultipleOf: 64 });
      // The diagnostics read the packed matrices too.
      const report = initReport(model, result, ["the fox sat with the dog"]).rows[0];
      const out: Record<string, number[][]> = {
        nearest: result.nearest(3).map((row) => row.map((n) => n.id)),
        report: [[report.klMean, report.newMassMean], report.zeroRows],
      };
      for (const name of [model.layout.embedding, model.layout.head!]) {
        const matrix = result.model.weights.get(name)!;
        assert.equal(isPacked(matrix), keepBf16, `${name} stays as it was loaded`);
        const rows = tf.tidy(() => gatherRows(matrix, tf.tensor1d([...result.newIds, matrix.shape[0] - 1], "int32")));
        out[name] = rows.arraySync() as number[][];
        rows.dispose();
      }
      disposeModels(model, result.model);
      model.dispose();
      return out;
    };
    const float32 = await rowsOf(false);
    const kept = await rowsOf(true);
    assert.deepEqual(kept.nearest, float32.nearest);
    assert.deepEqual(kept.report[1], float32.report[1]);
    kept.report[0].forEach((v, j) => assert.ok(Math.abs(v - float32.report[0][j]) < 1e-2 * Math.abs(float32.report[0][j]) + 1e-6, `initReport ${v} vs ${float32.report[0][j]}`));
    for (const name of ["model.embed_tokens.weight", "lm_head.weight"]) {
      float32[name].forEach((row, r) =>
        row.forEach((value, c) => {
          const rounded = bf16ToFloat32(float32ToBf16(new Float32Array([value])))[0];
          // One bf16 step (2⁻⁸ relative) of slack: the packed mean sums in another order, which can flip a rounding.
          assert.ok(Math.abs(kept[name][r][c] - rounded) <= Math.abs(rounded) * 2 ** -7 + 1e-6, `${name} new row ${r}[${c}]: ${kept[name][r][c]} vs ${rounded}`);
        }),
      );
    }
  });

  const runs: Array<[string, boolean, TrainOptions]> = [
    ["new-rows, tied", true, { strategy: "new-rows" }],
    ["new-rows, untied", false, { strategy: "new-rows" }],
    ["gradual (packed block weights widen when they unfreeze), untied", false, { strategy: "gradual", unfreeze: { every: 1 } }],
  ];
  runs.forEach(([label, tied, options], i) => {
    it(`trains ${label} with the same losses as the float32 load`, async () => {
      const dir = path.join(root, `train-${i}`);
      writeTinyCheckpoint(dir, { dtype: "BF16", tied, seed: i + 3 });
      const trainedRows: number[][][] = [];
      const losses = async (keepBf16: boolean): Promise<number[]> => {
        const model = await loadModel(dir, { keepBf16 });
        assert.equal(isPacked(model.weights.get("model.layers.0.mlp.up_proj.weight")!), keepBf16);
        const newIds = ["<|im_start|>", "<|im_end|>"].map((t) => model.tokenizer.tokenToId(t)!);
        const examples = Array.from({ length: 12 }, (_, j) => ({
          messages: [
            { role: "user", content: `where is the fox ${j % 5}?` },
            { role: "assistant", content: `the fox sat with the dog ${j % 3}.` },
          ],
        }));
        const data = prepareData(model.tokenizer, examples, { seqLen: 24, evalFraction: 0, seed: 1 });
        const tensorsBefore = tf.memory().numTensors;
        const run = train({ model, newIds }, data, { ...options, steps: 3, batchSize: 4, lr: 0.01, display: false });
        const result = await run;
        assert.equal(result.status, "completed");
        // Trained rows are added rows over the shared matrix; built whole (as saved) it is a packed copy
        // whose other rows keep their bits, the new ones rounded to bf16.
        assert.equal(result.model.weights.get(model.layout.embedding), model.weights.get(model.layout.embedding), "the frozen matrix is shared");
        const before = model.weights.get(model.layout.embedding)!;
        const after = materializedMatrix(result.model, model.layout.embedding);
        assert.equal(isPacked(after), keepBf16);
        const others = tf.tensor1d(Array.from({ length: before.shape[0] }, (_, id) => id).filter((id) => !newIds.includes(id)), "int32");
        const [kept, original] = tf.tidy(() => [tf.gather(after, others).dataSync(), tf.gather(before, others).dataSync()]);
        assert.deepEqual(kept, original);
        const rows = tf.tidy(() => gatherRows(after, tf.tensor1d(newIds, "int32")).arraySync() as number[][]);
        trainedRows.push(rows);
        if (keepBf16) rows.flat().forEach((v) => assert.equal(v, bf16ToFloat32(float32ToBf16(new Float32Array([v])))[0]));
        tf.dispose([others, after]);
        run.dispose();
        disposeModels(model as CausalLM, result.latest, result.best?.model);
        assert.equal(tf.memory().numTensors, tensorsBefore, "the run freed what it made");
        model.dispose();
        return result.history.map((r) => r.loss);
      };
      const float32 = await losses(false);
      const kept = await losses(true);
      assert.equal(kept.length, 3);
      trainedRows[0].flat().forEach((v, j) => {
        const k = trainedRows[1].flat()[j];
        assert.ok(Math.abs(k - v) <= Math.abs(v) * 2 ** -7 + 1e-5, `trained new-row value ${j}: ${k} (kept) vs ${v} (float32)`);
      });
      kept.forEach((loss, step) => assert.ok(Math.abs(loss - float32[step]) < 1e-4 * Math.abs(float32[step]), `step ${step}: ${loss} vs ${float32[step]}`));
    });
  });
});
