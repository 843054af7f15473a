import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { compareInits } from "../../lib/analysis/compare-inits";
import { evaluate } from "../../lib/analysis/evaluate";
import { plotDrift } from "../../lib/analysis/plot-drift";
import { prepareData } from "../../lib/data/prepare-data";
import { initBackend } from "../../lib/backend/init-backend";
import { loadModel } from "../../lib/models/load-model";
import { isPacked } from "../../lib/models/packed-weights";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import type { AddTokensResult } from "../../lib/tokens/add-tokens-result";
import { addTokens } from "../../lib/tokens/add-tokens";
import { initReport } from "../../lib/tokens/init-report";
import { train } from "../../lib/train/train";
import { QWEN3_TOKENIZER_DIR, writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";
import { disposeModels } from "../train/train-fixture";

/** Qwen3's tokenizer: 151,669 ids; its checkpoints have 151,936 embedding rows (padding beyond the tokenizer). */
const TOKENIZER_SIZE = 151_669;
const ROWS = 151_936;

const TEXTS = Array.from({ length: 12 }, (_, i) => `Where is the fox ${i % 5}? <|tool_sep|> The fox sat with the dog ${i % 3}.`);

/** float64 log-softmax of `logits` over its first `size` entries, by loops only. */
function logSoftmax(logits: ArrayLike<number>, size: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < size; i++) max = Math.max(max, logits[i]);
  let total = 0;
  for (let i = 0; i < size; i++) total += Math.exp(logits[i] - max);
  const logTotal = Math.log(total) + max;
  return Float64Array.from({ length: size }, (_, i) => logits[i] - logTotal);
}

/** The logits of every position of `ids`, [positions · rows] (an independent forward). */
function allLogits(model: TransformerLM, ids: number[]): Float32Array {
  const logits = model.logits([ids]);
  const values = logits.dataSync() as Float32Array;
  logits.dispose();
  return values;
}

/** The logits of the last position of `ids` (an independent forward, no KV cache). */
function lastLogits(model: TransformerLM, ids: number[]): Float32Array {
  const logits = model.logits([ids]);
  const last = tf.tidy(() => tf.slice(logits, [0, ids.length - 1, 0], [1, 1, -1]).dataSync() as Float32Array);
  logits.dispose();
  return last;
}

/**
 * Code bounded by `tokenizer.size` (sampling, log-probabilities over tokens, neighbours) only meets
 * a real vocabulary with a real tokenizer: a tiny Qwen3-architecture model (hidden 16, one layer)
 * with the real Qwen3 tokenizer and padding rows, as a real checkpoint has them.
 */
// Kept 16-bit too: the packed embedding and head at a real vocabulary size (neighbours, untrained rows, drift).
for (const keepBf16 of [false, true]) {
  describe(`a tiny model with the real 151,669-token Qwen3 tokenizer${keepBf16 ? ", kept 16-bit (loadModel keepBf16)" : ""}`, function () {
    this.timeout(300_000);
    let dir: string;
    let model: TransformerLM;
    let added: AddTokensResult;
    const newTokens = ["<|tool_sep|>", "<|fox|>"];

    before(async () => {
      await initBackend("wasm"); // the 16-bit kernels are wasm only
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-real-vocab-"));
      writeTinyCheckpoint(dir, {
        architecture: "Qwen3ForCausalLM",
        tokenizerDir: QWEN3_TOKENIZER_DIR,
        vocabSize: ROWS,
        hiddenSize: 16,
        numLayers: 1,
        numHeads: 2,
        numKeyValueHeads: 1,
        intermediateSize: 32,
        dtype: "BF16",
        weightStd: 0.5,
        seed: 3,
      });
      model = await loadModel(dir, { keepBf16 });
      added = addTokens(model, newTokens, { init: "mean" });
    });
    after(() => {
      if (added) disposeModels(model, added.model);
      model?.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("loads the real tokenizer beside the padded embedding", () => {
      assert.equal(model.tokenizer.size, TOKENIZER_SIZE);
      assert.equal(model.config.vocabSize, ROWS);
      const embedding = model.weights.get("model.embed_tokens.weight")!;
      assert.equal(isPacked(embedding), keepBf16);
      assert.deepEqual(embedding.shape, keepBf16 ? [ROWS, 8] : [ROWS, 16]);
      assert.deepEqual(model.tokenizer.encode("<|im_start|>user"), [151644, 872]);
      // The new tokens take the first padding rows.
      assert.deepEqual(added.newIds, [TOKENIZER_SIZE, TOKENIZER_SIZE + 1]);
    });

    it("samples with a temperature over all 151,669 tokens: at a tiny temperature it is greedy, at 1 it varies with the seed", async () => {
      const prompt = model.tokenizer.encode("The quick brown fox");
      const greedy = await model.generate(prompt, { maxNewTokens: 4, stop: [] });
      const cold = await model.generate(prompt, { maxNewTokens: 4, stop: [], temperature: 1e-4, seed: 5 });
      assert.deepEqual(cold.ids, greedy.ids, "softmax(logits / 1e-4) puts all its mass on the argmax");
      const warm = await Promise.all([1, 2, 3, 4].map((seed) => model.generate(prompt, { maxNewTokens: 4, stop: [], temperature: 1, seed })));
      assert.deepEqual(await model.generate(prompt, { maxNewTokens: 4, stop: [], temperature: 1, seed: 1 }), warm[0]);
      assert.ok(new Set(warm.map((w) => w.ids.join())).size > 1, "different seeds sample different tokens");
      for (const { ids } of warm) assert.ok(ids.every((id) => id < TOKENIZER_SIZE), `a padding row was sampled: ${ids}`);
    });

    it("samples with topK only among the k most likely of the 151,669 tokens", async () => {
      const prompt = model.tokenizer.encode("the dog");
      const topK = 5;
      for (const seed of [1, 2]) {
        const { ids } = await model.generate(prompt, { maxNewTokens: 3, stop: [], temperature: 2, topK, seed });
        ids.forEach((id, step) => {
          const scores = lastLogits(model, [...prompt, ...ids.slice(0, step)]).subarray(0, TOKENIZER_SIZE);
          let higher = 0;
          for (let i = 0; i < scores.length; i++) if (scores[i] > scores[id]) higher++;
          assert.ok(higher < topK, `step ${step}: token ${id} has ${higher} better tokens`);
        });
      }
    });

    it("initReport: KL and mass on the new tokens over the full vocabulary, within Hewitt's bound for mean init", () => {
      const row = initReport(model, { mean: added }, TEXTS.slice(0, 3)).rows[0];
      assert.deepEqual(row.newIds, added.newIds);
      assert.equal(row.baseVocab, TOKENIZER_SIZE);
      // Both models read the same ids: the base tokenizer's (it splits the new tokens into pieces).
      const positions = TEXTS.slice(0, 3).reduce((n, text) => n + model.tokenizer.encode(text).length, 0);
      assert.equal(row.positions, positions);
      assert.ok(Number.isFinite(row.klMax) && row.klMax >= row.klMean && row.klMean > 0, `KL ${row.klMean} / ${row.klMax}`);
      assert.ok(row.klMean <= row.klBound, `mean KL ${row.klMean} above log(1 + n/V) = ${row.klBound}`);
      assert.ok(row.newMassMax >= row.newMassMean && row.newMassMax < 1);
      // Mass on the new tokens at the first position, computed here over the 151,671 token ids.
      const ids = model.tokenizer.encode(TEXTS[0]);
      const logits = added.model.logits([ids]);
      const first = tf.tidy(() => tf.slice(logits, [0, 0, 0], [1, 1, -1]).dataSync());
      logits.dispose();
      const lp = logSoftmax(first, TOKENIZER_SIZE + 2);
      const mass = Math.exp(lp[TOKENIZER_SIZE]) + Math.exp(lp[TOKENIZER_SIZE + 1]);
      assert.ok(row.newMassMax >= mass - 1e-6);
    });

    it("initReport over a text longer than one chunk of positions (55 at this vocabulary) equals a float64 recomputation", () => {
      const text = TEXTS.join(" ");
      const ids = model.tokenizer.encode(text);
      assert.ok(ids.length > 3 * 55, `${ids.length} positions`);
      const row = initReport(model, { mean: added }, [text]).rows[0];
      const [baseLogits, extLogits] = [allLogits(model, ids), allLogits(added.model as TransformerLM, ids)];
      const kl: number[] = [];
      const mass: number[] = [];
      for (let p = 0; p < ids.length; p++) {
        const lpBase = logSoftmax(baseLogits.subarray(p * ROWS, (p + 1) * ROWS), TOKENIZER_SIZE);
        const lpExt = logSoftmax(extLogits.subarray(p * ROWS, (p + 1) * ROWS), TOKENIZER_SIZE + 2);
        kl.push(lpBase.reduce((sum, lp, i) => sum + Math.exp(lp) * (lp - lpExt[i]), 0));
        mass.push(Math.exp(lpExt[TOKENIZER_SIZE]) + Math.exp(lpExt[TOKENIZER_SIZE + 1]));
      }
      assert.equal(row.positions, ids.length);
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      assert.ok(Math.abs(row.klMean - mean(kl)) < 1e-6, `KL mean ${row.klMean} vs ${mean(kl)}`);
      assert.ok(Math.abs(row.klMax - Math.max(...kl)) < 1e-6, `KL max ${row.klMax} vs ${Math.max(...kl)}`);
      assert.ok(Math.abs(row.newMassMean - mean(mass)) < 1e-6, `mass ${row.newMassMean} vs ${mean(mass)}`);
    });

    it("evaluate on plain text longer than one chunk of positions: KL, forgetting and mass equal a float64 recomputation", () => {
      const text = Array.from({ length: 20 }, (_, i) => `The fox ${i} sat with the dog.`).join(" ");
      const ids = [...model.tokenizer.encode(text), model.tokenizer.tokenToId("<|im_end|>")!];
      assert.ok(ids.length > 3 * 55, `${ids.length} positions`);
      const m = evaluate(added, [TEXTS[0]], { plainText: [text], base: model, seqLen: ids.length }).metrics;
      const [baseLogits, extLogits] = [allLogits(model, ids), allLogits(added.model as TransformerLM, ids)];
      const sums = { kl: 0, forgetting: 0, mass: 0 };
      for (let p = 0; p + 1 < ids.length; p++) {
        const [base, ext] = [baseLogits, extLogits].map((values) => values.subarray(p * ROWS, (p + 1) * ROWS));
        const [lpBase, lpExt] = [logSoftmax(base, TOKENIZER_SIZE), logSoftmax(ext, TOKENIZER_SIZE + 2)];
        // Both renormalized over the base vocabulary: the model's distribution without the new ids.
        const renormExt = logSoftmax(ext, TOKENIZER_SIZE);
        lpBase.forEach((lp, i) => {
          sums.kl += Math.exp(lp) * (lp - lpExt[i]);
          sums.forgetting += Math.exp(lp) * (lp - renormExt[i]);
        });
        sums.mass += Math.exp(lpExt[TOKENIZER_SIZE]) + Math.exp(lpExt[TOKENIZER_SIZE + 1]);
      }
      const positions = ids.length - 1;
      assert.equal(m.plainTextPositions, positions);
      for (const [name, value, expected] of [
        ["KL", m.klToBase, sums.kl / positions],
        ["forgetting KL", m.forgettingKl, sums.forgetting / positions],
        ["mass", m.newTokenMassMean, sums.mass / positions],
      ] as const) {
        assert.ok(Math.abs(value - expected) <= 1e-6 + 1e-4 * Math.abs(expected), `${name} ${value} vs ${expected}`);
      }
    });

    // As transformers' loss (and tokenlab's training loss), evaluate's cross-entropy spans every row, padding included.
    it("evaluate: loss over all 151,936 rows equals an independent float64 log-softmax", () => {
      const text = TEXTS[0];
      const report = evaluate(added, [text]);
      // prepareData ends each text with eos (<|im_end|>), itself a target.
      const ids = [...added.model.tokenizer.encode(text), added.model.tokenizer.tokenToId("<|im_end|>")!];
      const logits = added.model.logits([ids]);
      const values = logits.dataSync();
      const rows = logits.shape[2];
      logits.dispose();
      let nll = 0;
      for (let t = 0; t + 1 < ids.length; t++) nll -= logSoftmax(values.subarray(t * rows, (t + 1) * rows), rows)[ids[t + 1]];
      assert.equal(report.metrics.positions, ids.length - 1);
      assert.ok(Math.abs(report.metrics.loss - nll / (ids.length - 1)) < 1e-4, `${report.metrics.loss} vs ${nll / (ids.length - 1)}`);
      assert.equal(report.metrics.newTokenPositions, 1); // <|tool_sep|> once
    });

    it("trains the new rows and plots their drift among 151k existing tokens", async () => {
      const data = prepareData(added.model.tokenizer, TEXTS, { seqLen: 24, evalFraction: 0, seed: 1 });
      const run = train(added, data, { steps: 2, batchSize: 2, lr: 0.05, evalEvery: 2, driftEvery: 1 });
      const result = await run;
      try {
        const report = plotDrift(run, { neighbours: 3, pcaRows: 2000 });
        assert.deepEqual(report.series.map((s) => s.steps), [[0, 1, 2], [0, 1, 2]]);
        assert.ok(report.series.every((s) => s.distance[2] > 0), "the new rows moved");
        assert.equal(report.neighbours.rows.length, 3 * newTokens.length);
        for (const row of report.neighbours.rows) assert.equal(String(row[2]).split(", ").length, 3);
        assert.equal(report.projection.data.filter((t) => newTokens.includes(String(t.name))).length, newTokens.length);
      } finally {
        disposeModels(added.model, result.latest, result.best?.model);
        run.dispose();
      }
    });

    it("compareInits trains two inits a few steps and tabulates them", async () => {
      const comparison = await compareInits(model, newTokens, ["mean", "zeros"], TEXTS, {
        steps: 2,
        batchSize: 2,
        seqLen: 24,
        evalFraction: 0.25,
        evalEvery: 2,
        lr: 0.05,
        referenceTexts: TEXTS.slice(0, 2),
        seeds: 1, // one seed: this test is about the vocabulary size, not the statistics
      });
      try {
        assert.deepEqual(comparison.variants.map((v) => v.name), ["mean", "zeros"]);
        for (const v of comparison.variants) assert.equal(v.result.steps, 2);
        assert.ok(Number.isFinite(comparison.targetLoss));
        assert.equal(comparison.table().rows.length, 2);
        assert.ok(comparison.initRows.every((r) => r.baseVocab === TOKENIZER_SIZE && Number.isFinite(r.klMax)));
      } finally {
        for (const v of comparison.variants) disposeModels(model, v.added.model, v.result.latest, v.result.best?.model);
      }
    });
  });
}
