import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { evaluate } from "../../lib/analysis/evaluate";
import { IGNORE_INDEX, type PackedSequence } from "../../lib/data/pack";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import type { CausalLM } from "../../lib/models/causal-lm";
import { trainFixture, type TrainFixture } from "../train/train-fixture";

/** float64 log-softmax of every position of `model` on `rows` (independent of lib/train). */
function logProbabilities(model: CausalLM, rows: PackedSequence[]): number[][] {
  const logits = model.logits(rows.map((r) => r.inputIds));
  const values = logits.dataSync();
  const vocab = logits.shape[2];
  logits.dispose();
  const out: number[][] = [];
  for (let p = 0; p < values.length / vocab; p++) {
    const slice = Array.from(values.subarray(p * vocab, (p + 1) * vocab));
    const max = Math.max(...slice);
    const logTotal = Math.log(slice.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
    out.push(slice.map((v) => v - logTotal));
  }
  return out;
}

describe("evaluate()", function () {
  this.timeout(120000);
  let fx: TrainFixture;
  before(async () => (fx = await trainFixture()));
  after(() => fx.cleanup());

  it("computes new-token loss/accuracy and per-token emission P/R/F1 like an independent computation", () => {
    const [a, b] = fx.newIds;
    const rows: PackedSequence[] = [
      { inputIds: [5, a, 70, 71, b, 9, 40], labels: [a, 70, IGNORE_INDEX, b, 9, a, b], attentionMask: [1, 1, 1, 1, 1, 1, 1] },
      { inputIds: [b, 100, 101, 102, a, 3, 4], labels: [100, b, 102, a, 3, 4, a], attentionMask: [1, 1, 1, 1, 1, 1, 1] },
    ];
    // Second model: the head row of `a` becomes 3× the row of the token predicted first, so greedy
    // decoding emits `a` wherever that token would have won with a positive logit.
    const headName = fx.model.layout.head!;
    const headData = Float32Array.from(fx.model.weights.get(headName)!.dataSync() as Float32Array);
    const hidden = fx.model.config.hiddenSize;
    const first = logProbabilities(fx.model, rows)[0];
    const winner = first.indexOf(Math.max(...first));
    for (let j = 0; j < hidden; j++) headData[a * hidden + j] = 3 * headData[winner * hidden + j];
    const boostedHead = tf.tensor(headData, fx.model.weights.get(headName)!.shape);
    const boosted = fx.model.withChanges({ weights: new Map([...fx.model.weights, [headName, boostedHead]]) });
    let emittedA = 0;
    for (const model of [fx.model, boosted]) {
      const report = evaluate({ model, newIds: fx.newIds }, rows);
      const logp = logProbabilities(model, rows);
      const labels = rows.flatMap((r) => r.labels);
      let newLoss = 0;
      let newCount = 0;
      let newCorrect = 0;
      const tally = new Map(fx.newIds.map((id) => [id, { tp: 0, predicted: 0, support: 0 }]));
      labels.forEach((label, p) => {
        if (label === IGNORE_INDEX) return;
        const argmax = logp[p].indexOf(Math.max(...logp[p]));
        if (tally.has(argmax)) tally.get(argmax)!.predicted++;
        if (!tally.has(label)) return;
        newLoss -= logp[p][label];
        newCount++;
        tally.get(label)!.support++;
        if (argmax === label) (newCorrect++, tally.get(label)!.tp++);
      });
      const m = report.metrics;
      assert.equal(m.newTokenPositions, newCount);
      assert.ok(Math.abs(m.newTokenLoss - newLoss / newCount) < 1e-5);
      assert.equal(m.newTokenAccuracy, newCorrect / newCount);
      for (const e of m.emissions) {
        const t = tally.get(e.id)!;
        assert.equal(e.support, t.support);
        assert.equal(e.predicted, t.predicted);
        const precision = t.predicted ? t.tp / t.predicted : NaN;
        const recall = t.tp / t.support;
        assert.deepEqual([e.precision, e.recall], [precision, recall]);
        if (e.id === a && model === boosted) emittedA = e.predicted;
      }
      assert.match(String(report[JUPYTER_DISPLAY]()["text/plain"]), /new-token loss/);
    }
    assert.ok(emittedA > 0, "the boosted model emits the new token somewhere, so precision is exercised");
    boostedHead.dispose();
  });

  it("measures plain-text perplexity and KL(base ‖ model), zero against itself", () => {
    const text = ["the quick brown fox jumps over the lazy dog", "the dog sat in the sun and the fox talked"];
    const self = evaluate({ model: fx.model, newIds: fx.newIds }, fx.data, { plainText: text, base: fx.model, seqLen: 16 });
    assert.ok(Math.abs(self.metrics.klToBase) < 1e-6);
    assert.ok(self.metrics.plainTextPerplexity > 1);
    // One text in one window: perplexity = exp of the mean float64 loss over its next tokens (EOS appended).
    const windowed = evaluate(fx.model, fx.data, { plainText: [text[0]], seqLen: 64 });
    const firstIds = [...fx.model.tokenizer.encode(text[0]), fx.model.tokenizer.eosTokenId!];
    const lp = logProbabilities(fx.model, [{ inputIds: firstIds.slice(0, -1), labels: [], attentionMask: [] }]);
    const expected = Math.exp(-firstIds.slice(1).reduce((s, id, t) => s + lp[t][id], 0) / (firstIds.length - 1));
    assert.ok(Math.abs(windowed.metrics.plainTextPerplexity - expected) / expected < 1e-5, `${windowed.metrics.plainTextPerplexity} vs ${expected}`);

    // A perturbed model: KL against the original equals the float64 sum over the vocabulary.
    const embedding = fx.model.weights.get(fx.model.layout.embedding)!;
    const shifted = tf.mul(embedding, 1.5);
    const other = fx.model.withChanges({ weights: new Map([...fx.model.weights, [fx.model.layout.embedding, shifted]]) });
    const kl = evaluate(other, fx.data, { plainText: [text[0]], base: fx.model, seqLen: 64 }).metrics.klToBase;
    const lq = logProbabilities(other, [{ inputIds: firstIds.slice(0, -1), labels: [], attentionMask: [] }]);
    let sum = 0;
    lp.forEach((row, t) => row.forEach((logP, v) => (sum += Math.exp(logP) * (logP - lq[t][v]))));
    const expectedKl = sum / lp.length;
    assert.ok(expectedKl > 1e-3);
    assert.ok(Math.abs(kl - expectedKl) / expectedKl < 1e-3, `${kl} vs ${expectedKl}`);
    shifted.dispose();
  });
});
