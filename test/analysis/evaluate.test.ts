import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { evaluate, rowsPerBatch, EvaluationReport } from "../../lib/analysis/evaluate";
import { IGNORE_INDEX, type PackedSequence } from "../../lib/data/pack";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import type { CausalLM } from "../../lib/models/causal-lm";
import { addTokens } from "../../lib/tokens/add-tokens";
import { buildTinyTokenizer } from "../fixtures/tiny-tokenizer";
import { train } from "../../lib/train/train";
import { bytesOf, disposeModels, trainFixture, type TrainFixture } from "../train/train-fixture";
import { vocabRows } from "../../lib/models/model-rows";

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

/** The raw logits of every position of `model` on `inputs`, as float64 rows. */
function rawLogits(model: CausalLM, inputs: number[][]): number[][] {
  const logits = model.logits(inputs);
  const values = Array.from(logits.dataSync());
  const vocab = logits.shape[2];
  logits.dispose();
  return Array.from({ length: values.length / vocab }, (_, p) => values.slice(p * vocab, (p + 1) * vocab));
}

/** float64 log-softmax of each row over the ids `keep` accepts (the others: −∞). */
function logSoftmaxOver(rows: number[][], keep: (id: number) => boolean): number[][] {
  return rows.map((row) => {
    const max = Math.max(...row.filter((_, id) => keep(id)));
    const logTotal = Math.log(row.reduce((s, v, id) => s + (keep(id) ? Math.exp(v - max) : 0), 0)) + max;
    return row.map((v, id) => (keep(id) ? v - logTotal : -Infinity));
  });
}

/** Plain-text rows, one per text, cut to the shortest text's length so they batch without padding. */
function plainRows(model: CausalLM, texts: string[]): PackedSequence[] {
  const ids = texts.map((t) => [...model.tokenizer.encode(t), model.tokenizer.eosTokenId!]);
  const length = Math.min(...ids.map((i) => i.length));
  return ids.map((i) => ({ inputIds: i.slice(0, length - 1), labels: i.slice(1, length), attentionMask: i.slice(1, length).map(() => 1) }));
}

const meanOf = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const close = (actual: number, expected: number, relative: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} vs ${expected}`);

/** float64 log-softmax over the ids `model`'s tokenizer produces (padding rows: −∞), independent of lib/. */
function overTokens(model: CausalLM, rows: number[][]): number[][] {
  return rows.map((row) => {
    const isToken = row.map((_, id) => model.tokenizer.idToToken(id) !== undefined);
    const max = Math.max(...row.filter((_, id) => isToken[id]));
    const logTotal = Math.log(row.reduce((s, v, id) => s + (isToken[id] ? Math.exp(v - max) : 0), 0)) + max;
    return row.map((v, id) => (isToken[id] ? v - logTotal : -Infinity));
  });
}

/** KL(p ‖ q) per position from log-probabilities, 0 where p is 0. */
function klPerPosition(lp: number[][], lq: number[][]): number[] {
  return lp.map((row, t) => row.reduce((s, logP, v) => s + (logP === -Infinity ? 0 : Math.exp(logP) * (logP - lq[t][v])), 0));
}

/** `model` with the head row of `id` replaced by `scale` × the head row of `fromId` (caller disposes the returned head). */
function withHeadRow(model: CausalLM, id: number, fromId: number, scale: number): { model: CausalLM; head: tf.Tensor } {
  const headName = model.layout.head!;
  const headData = Float32Array.from(model.weights.get(headName)!.dataSync() as Float32Array);
  const hidden = model.config.hiddenSize;
  for (let j = 0; j < hidden; j++) headData[id * hidden + j] = scale * headData[fromId * hidden + j];
  const head = tf.tensor(headData, model.weights.get(headName)!.shape);
  return { model: model.withChanges({ weights: new Map([...model.weights, [headName, head]]) }), head };
}

const argmaxOf = (row: number[]) => row.indexOf(Math.max(...row));

describe("evaluate()", function () {
  this.timeout(120000);
  let fx: TrainFixture;
  before(async () => (fx = await trainFixture()));
  after(() => fx.cleanup());

  it("refuses new ids that are no token of the model, unknown options, and a disposed model", async () => {
    const rows = fx.data.eval.slice(0, 2);
    assert.throws(() => evaluate(fx.model, rows, { newIds: [99999] }), /evaluate: newIds: 99999 is not a token id of this model/);
    assert.throws(() => evaluate(fx.model, rows, { newIds: [fx.model.tokenizer.size] }), /is not a token id of this model/);
    assert.throws(() => evaluate(fx.model, rows, { batchsize: 4 } as object), /unknown evaluate option "batchsize"; the options are newIds, plainText, base, batchSize, seqLen/);
    const local = await trainFixture();
    local.cleanup();
    assert.throws(() => evaluate(local.model, rows), /evaluate: the model was disposed/);
  });

  it("computes new-token loss/accuracy and per-token emission P/R/F1 like an independent computation", () => {
    const [a, b] = fx.newIds;
    const rows: PackedSequence[] = [
      { inputIds: [5, a, 70, 71, b, 9, 40], labels: [a, 70, IGNORE_INDEX, b, 9, a, b], attentionMask: [1, 1, 1, 1, 1, 1, 1] },
      { inputIds: [b, 100, 101, 102, a, 3, 4], labels: [100, b, 102, a, 3, 4, a], attentionMask: [1, 1, 1, 1, 1, 1, 1] },
    ];
    // Second model: the head row of `a` becomes 3× the row of the token predicted first, so greedy
    // decoding emits `a` wherever that token would have won with a positive logit.
    const winner = argmaxOf(logProbabilities(fx.model, rows)[0]);
    const { model: boosted, head: boostedHead } = withHeadRow(fx.model, a, winner, 3);
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
    // One text in one window: perplexity = exp of the mean float64 loss over its next tokens (EOS
    // appended), the softmax over the model's tokens (padding rows excluded).
    const windowed = evaluate(fx.model, fx.data, { plainText: [text[0]], seqLen: 64 });
    const firstIds = [...fx.model.tokenizer.encode(text[0]), fx.model.tokenizer.eosTokenId!];
    const lp = overTokens(fx.model, logProbabilities(fx.model, [{ inputIds: firstIds.slice(0, -1), labels: [], attentionMask: [] }]));
    const expected = Math.exp(-firstIds.slice(1).reduce((s, id, t) => s + lp[t][id], 0) / (firstIds.length - 1));
    assert.ok(Math.abs(windowed.metrics.plainTextPerplexity - expected) / expected < 1e-5, `${windowed.metrics.plainTextPerplexity} vs ${expected}`);

    // A perturbed model: KL against the original equals the float64 sum over the tokens.
    const embedding = fx.model.weights.get(fx.model.layout.embedding)!;
    const shifted = tf.mul(embedding, 1.5);
    const other = fx.model.withChanges({ weights: new Map([...fx.model.weights, [fx.model.layout.embedding, shifted]]) });
    const kl = evaluate(other, fx.data, { plainText: [text[0]], base: fx.model, seqLen: 64 }).metrics.klToBase;
    const lq = logProbabilities(other, [{ inputIds: firstIds.slice(0, -1), labels: [], attentionMask: [] }]);
    const perPosition = klPerPosition(lp, overTokens(other, lq));
    const expectedKl = perPosition.reduce((a, b) => a + b, 0) / perPosition.length;
    assert.ok(expectedKl > 1e-3);
    assert.ok(Math.abs(kl - expectedKl) / expectedKl < 1e-3, `${kl} vs ${expectedKl}`);
    shifted.dispose();
  });

  it("separates forgetting (base vocabulary, renormalized) from the mass taken by new tokens, like an independent float64 computation", () => {
    const [a] = fx.newIds;
    const rows = plainRows(fx.model, ["the quick brown fox jumps over the lazy dog", "the dog sat in the sun and the fox talked to the cat"]);
    // Changed everywhere (forgetting) and a new token boosted (mass taken).
    const embedding = fx.model.weights.get(fx.model.layout.embedding)!;
    const scaled = tf.mul(embedding, 1.2);
    const shifted = fx.model.withChanges({ weights: new Map([...fx.model.weights, [fx.model.layout.embedding, scaled]]) });
    const winner = argmaxOf(rawLogits(shifted, [rows[0].inputIds])[0]);
    const { model, head } = withHeadRow(shifted, a, winner, 1.5);
    try {
      const m = evaluate({ model, newIds: fx.newIds }, rows, { plainText: rows, base: fx.model, batchSize: 2 }).metrics;
      const inputs = rows.map((r) => r.inputIds);
      const labels = rows.flatMap((r) => r.labels);
      const isToken = (id: number) => fx.model.tokenizer.idToToken(id) !== undefined;
      const inBaseVocab = (id: number) => isToken(id) && !fx.newIds.includes(id);
      const [z, b] = [rawLogits(model, inputs), rawLogits(fx.model, inputs)];
      const full = logSoftmaxOver(z, isToken);
      const renorm = logSoftmaxOver(z, inBaseVocab);
      const baseFull = logSoftmaxOver(b, isToken);
      const baseRenorm = logSoftmaxOver(b, inBaseVocab);
      const perplexity = (lp: number[][]) => Math.exp(-meanOf(labels.map((label, t) => lp[t][label])));
      const masses = full.map((row) => fx.newIds.map((id) => Math.exp(row[id])));
      const total = masses.map((m) => m.reduce((x, y) => x + y, 0));
      assert.equal(m.plainTextPositions, labels.length);
      close(m.plainTextPerplexity, perplexity(full), 1e-4, "full-softmax perplexity");
      close(m.baseVocabPerplexity, perplexity(renorm), 1e-4, "base-vocabulary perplexity");
      close(m.basePerplexity, perplexity(baseFull), 1e-4, "base perplexity");
      close(m.klToBase, meanOf(klPerPosition(baseFull, full)), 1e-3, "full KL");
      close(m.forgettingKl, meanOf(klPerPosition(baseRenorm, renorm)), 1e-3, "forgetting KL");
      close(m.newTokenMassMean, meanOf(total), 1e-4, "mean mass");
      close(m.newTokenMassMax, Math.max(...total), 1e-4, "max mass");
      m.newTokenMass.forEach((t, k) => {
        assert.equal(t.id, fx.newIds[k]);
        close(t.mean, meanOf(masses.map((row) => row[k])), 1e-4, `${t.token} mean`);
        close(t.max, Math.max(...masses.map((row) => row[k])), 1e-4, `${t.token} max`);
      });
      assert.ok(m.forgettingKl > 1e-3 && m.newTokenMassMean > 1e-2, `both effects present: ${m.forgettingKl}, ${m.newTokenMassMean}`);
      assert.match(String(new EvaluationReport(m)[JUPYTER_DISPLAY]()["text/plain"]), /forgetting: KL\(base ‖ model\) over the base vocabulary/);
      assert.throws(() => evaluate({ model, newIds: fx.newIds }, rows, { plainText: [{ ...rows[0], inputIds: [5, a, 7] }], base: fx.model }), /plain text contains token id \d+ .*new token/);
    } finally {
      head.dispose();
      scaled.dispose();
    }
  });

  it("forgetting is exactly 0 after new-rows-only training (every base weight bit-identical) and not after full fine-tuning", async () => {
    const rows = plainRows(fx.model, ["the quick brown fox jumps over the lazy dog", "the dog sat in the sun and the fox talked to the cat"]);
    const before = evaluate({ model: fx.model, newIds: fx.newIds }, rows, { plainText: rows, base: fx.model }).metrics;
    const newRows = await train({ model: fx.model, newIds: fx.newIds }, fx.data, { strategy: "new-rows", steps: 6, batchSize: 4, lr: 0.05, seed: 3 });
    const full = await train({ model: fx.model, newIds: fx.newIds }, fx.data, { strategy: "full", steps: 6, batchSize: 4, lr: 1e-2, seed: 3 });
    try {
      const hidden = fx.model.config.hiddenSize;
      for (const [name, baseTensor] of fx.model.weights) {
        const [was, now] = [bytesOf(baseTensor), bytesOf(newRows.model.weights.get(name)!)];
        for (let row = 0; row < baseTensor.shape[0]; row++) {
          if ([fx.model.layout.embedding, fx.model.layout.head].includes(name) && fx.newIds.includes(row)) continue;
          const span = baseTensor.rank === 2 && baseTensor.shape[1] === hidden ? hidden * 4 : was.length;
          assert.ok(was.subarray(row * span, (row + 1) * span).equals(now.subarray(row * span, (row + 1) * span)), `${name} row ${row} changed`);
          if (span === was.length) break;
        }
      }
      const conservative = evaluate({ model: newRows.model, newIds: fx.newIds }, rows, { plainText: rows, base: fx.model }).metrics;
      assert.equal(conservative.forgettingKl, 0);
      assert.equal(conservative.baseVocabPerplexity, before.baseVocabPerplexity);
      assert.notEqual(conservative.newTokenMassMean, before.newTokenMassMean, "the trained new rows moved probability");
      assert.ok(conservative.klToBase > 1e-4, `the full-softmax KL sees only the moved mass: ${conservative.klToBase}`);
      const finetuned = evaluate({ model: full.model, newIds: fx.newIds }, rows, { plainText: rows, base: fx.model }).metrics;
      assert.ok(finetuned.forgettingKl > 1e-4, `full fine-tuning forgets: ${finetuned.forgettingKl}`);
      assert.notEqual(finetuned.baseVocabPerplexity, before.baseVocabPerplexity);
    } finally {
      disposeModels(fx.model, newRows.latest, newRows.best?.model, full.latest, full.best?.model);
    }
  });

  it("F1 of each new token equals 2·tp / (predicted + support) from an independent tally, with hits, misses and false alarms", () => {
    const [a, b] = fx.newIds;
    const inputs = [
      [5, 70, 71, 9, 40, 12, 33, 8],
      [100, 101, 102, 3, 4, 61, 17, 29],
    ];
    const probe = (ids: number[][]) => ids.map((inputIds) => ({ inputIds, labels: inputIds.map(() => 0), attentionMask: inputIds.map(() => 1) }));
    const winner = argmaxOf(logProbabilities(fx.model, probe(inputs))[0]);
    const { model, head } = withHeadRow(fx.model, a, winner, 3);
    // Labels from the boosted model's own greedy choices: every other position where it emits `a` is
    // labelled `a` (hits; the others are false alarms); two positions where it does not are labelled
    // `a` (misses) and one `b`.
    const argmax = logProbabilities(model, probe(inputs)).map(argmaxOf);
    let emitted = 0;
    let missed = 0;
    const flat = argmax.map((predicted) => {
      if (predicted === a) return emitted++ % 2 === 0 ? a : 70;
      return missed++ < 2 ? a : missed === 3 ? b : 70;
    });
    const rows: PackedSequence[] = inputs.map((inputIds, r) => ({
      inputIds,
      labels: flat.slice(r * inputIds.length, (r + 1) * inputIds.length),
      attentionMask: inputIds.map(() => 1),
    }));
    const tally = new Map(fx.newIds.map((id) => [id, { tp: 0, predicted: 0, support: 0 }]));
    flat.forEach((label, p) => {
      if (tally.has(argmax[p])) tally.get(argmax[p])!.predicted++;
      if (tally.has(label)) tally.get(label)!.support++;
      if (tally.has(label) && argmax[p] === label) tally.get(label)!.tp++;
    });
    const ta = tally.get(a)!;
    assert.ok(ta.tp > 0 && ta.predicted > ta.tp && ta.support > ta.tp, `a needs hits, false alarms and misses: ${JSON.stringify(ta)}`);
    const report = evaluate({ model, newIds: fx.newIds }, rows);
    for (const e of report.metrics.emissions) {
      const t = tally.get(e.id)!;
      assert.deepEqual([e.support, e.predicted], [t.support, t.predicted]);
      // 2·tp/(predicted + support) is the harmonic mean of precision and recall, and 0 when nothing hit.
      const f1 = (2 * t.tp) / (t.predicted + t.support);
      assert.ok(Math.abs(e.f1 - f1) < 1e-12, `${e.token}: F1 ${e.f1} vs ${f1}`);
    }
    assert.equal(report.metrics.emissions.find((e) => e.id === b)!.f1, 0, "b: support but no hit");
    head.dispose();
  });

  it("KL(base ‖ model) for a model with more vocabulary rows counts the model's mass on the new tokens", async () => {
    // No padding rows, so the new tokens get rows of their own (padding rows would be reused instead).
    const unpadded = await trainFixture({ vocabSize: buildTinyTokenizer().size });
    const base = unpadded.model;
    // Zero head rows give the new tokens logit 0: a real share of the mass, while every old logit is unchanged.
    const extended = addTokens(base, ["<x1>", "<x2>", "<x3>"], { init: "zeros" });
    const extendedModel = extended.model as typeof base;
    try {
      const baseRows = base.weights.get(base.layout.head!)!.shape[0];
      const text = "the quick brown fox jumps over the lazy dog";
      assert.equal(extendedModel.weights.get(extendedModel.layout.head!), base.weights.get(base.layout.head!), "the head is shared");
      assert.equal(vocabRows(extendedModel, extendedModel.layout.head!), baseRows + 3);
      const metrics = evaluate(extended, unpadded.data, { plainText: [text], base, seqLen: 64 }).metrics;
      const kl = metrics.klToBase;
      const ids = [...base.tokenizer.encode(text), base.tokenizer.eosTokenId!];
      const window = [{ inputIds: ids.slice(0, -1), labels: [], attentionMask: [] }];
      const lp = logProbabilities(base, window); // over the base's rows
      const lq = logProbabilities(extendedModel, window); // normalized over all of the extended model's rows
      let sum = 0;
      let lostMass = 0;
      lp.forEach((row, t) => {
        row.forEach((logP, v) => (sum += Math.exp(logP) * (logP - lq[t][v])));
        const newMass = extended.newIds.reduce((s, id) => s + Math.exp(lq[t][id]), 0);
        lostMass -= Math.log(1 - newMass);
      });
      const expected = sum / lp.length;
      assert.ok(expected > 1e-3, `the new tokens take real mass: KL ${expected}`);
      assert.ok(Math.abs(kl - expected) / expected < 1e-4, `${kl} vs ${expected}`);
      // Old logits are unchanged, so the whole KL is the mass moved to the new rows: E[−log(1 − mass)].
      assert.ok(Math.abs(kl - lostMass / lp.length) / expected < 1e-4, `${kl} vs ${lostMass / lp.length}`);
      // Decomposed: nothing forgotten over the base vocabulary, all of it mass taken by the new tokens.
      assert.equal(metrics.forgettingKl, 0);
      assert.equal(metrics.baseVocabPerplexity, metrics.basePerplexity);
      close(metrics.plainTextPerplexity, metrics.baseVocabPerplexity * Math.exp(lostMass / lp.length), 1e-4, "full perplexity = base-vocabulary perplexity × exp(mean −log(1 − mass))");
    } finally {
      extendedModel.dispose([base.weights]);
      unpadded.cleanup();
    }
  });

  it("KL(base ‖ model) gives padding rows no probability, also when addTokens put new tokens into them", async () => {
    const base = fx.model; // the fixture has padding rows beyond its tokenizer
    const baseRows = base.weights.get(base.layout.head!)!.shape[0];
    assert.ok(base.tokenizer.size < baseRows, "the fixture has padding rows");
    const extended = addTokens(base, ["<y1>", "<y2>"], { init: "zeros" });
    const extendedModel = extended.model as typeof base;
    try {
      assert.equal(extendedModel.weights.get(extendedModel.layout.head!)!.shape[0], baseRows, "the new tokens took padding rows");
      const text = "the quick brown fox jumps over the lazy dog";
      const kl = evaluate(extended, fx.data, { plainText: [text], base, seqLen: 64 }).metrics.klToBase;
      const ids = [...base.tokenizer.encode(text), base.tokenizer.eosTokenId!];
      const window = [{ inputIds: ids.slice(0, -1), labels: [], attentionMask: [] }];
      const perPosition = klPerPosition(overTokens(base, logProbabilities(base, window)), overTokens(extendedModel, logProbabilities(extendedModel, window)));
      const expected = perPosition.reduce((a, b) => a + b, 0) / perPosition.length;
      assert.ok(expected > 1e-3, `the new tokens take real mass: KL ${expected}`);
      assert.ok(Math.abs(kl - expected) / expected < 1e-4, `${kl} vs ${expected}`);
    } finally {
      extendedModel.dispose([base.weights]);
    }
  });

  it("evaluates fewer rows per batch when their logits would crowd the wasm heap (128k–150k vocabularies)", () => {
    assert.equal(rowsPerBatch(8, 64, 8192), 8); // small vocabularies keep the requested batch
    assert.equal(rowsPerBatch(8, 64, 128_256), Math.floor(2 ** 25 / (64 * 128_256))); // 4 rows: 32M logits at most
    assert.equal(rowsPerBatch(8, 4096, 151_936), 1); // never fewer than one row
  });
});
