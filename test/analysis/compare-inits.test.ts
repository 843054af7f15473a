import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { compareInits } from "../../lib/analysis/compare-inits";
import { PLOTLY_MIME } from "../../lib/display/figure";
import { formatMeanSd, meanInterval } from "../../lib/analysis/seed-statistics";
import { initReport } from "../../lib/tokens/init-report";
import { lossFluctuation } from "../../lib/train/loss-fluctuation";
import { installFakeHost } from "../fixtures/fake-notebook-host";
import { disposeModels, trainFixture, type TrainFixture } from "../train/train-fixture";

describe("compareInits()", function () {
  this.timeout(120000);
  let fx: TrainFixture;
  before(async () => (fx = await trainFixture()));
  after(() => fx.cleanup());

  it("refuses bad options before building or training any variant", async () => {
    const tensorsBefore = tf.memory().numTensors;
    const texts = ["the fox <sep> the dog", "the dog <sep> the fox"];
    for (const [options, message] of [
      [{ lr: NaN }, /train option lr must be a finite number > 0, got NaN/],
      [{ targetLoss: "low" }, /compareInits option targetLoss must be a finite number, got "low"/],
      [{ stepz: 3 }, /unknown train option "stepz"/],
      [{ seeds: 0 }, /compareInits option seeds must be .*, got 0/],
      [{ seeds: [] }, /compareInits option seeds must be a count or a non-empty list of integers/],
      [{ reference: "ranodm" }, /compareInits option reference must be one of the variants \(zeros, mean\)/],
    ] as const) {
      await assert.rejects(compareInits(fx.model, ["<sep>"], ["zeros", "mean"], texts, options as object), message);
    }
    assert.equal(tf.memory().numTensors, tensorsBefore, "no variant was built");
  });

  it("trains each init over every seed on the same data and steps, overlays live curves and tabulates mean ± sd over the seeds", async () => {
    const { shown, remove } = installFakeHost();
    const tensorsBefore = tf.memory().numTensors;
    const texts = Array.from({ length: 20 }, (_, i) => `the fox <sep> the dog ${i % 4} <sep> sat in the sun`);
    let comparison;
    try {
      comparison = await compareInits(fx.model, ["<sep>"], { zeros: "zeros", mean: "mean", dash: { from: "-" } }, texts, {
        steps: 6,
        batchSize: 4,
        seqLen: 16,
        evalFraction: 0.2,
        evalEvery: 3,
        displayEvery: 2,
        lr: 0.05,
        referenceTexts: texts.slice(0, 3),
        seeds: [0, 1],
      });
    } finally {
      remove();
    }
    const names = ["zeros", "mean", "dash"];
    assert.deepEqual(comparison.variants.map((v) => [v.name, v.seed]), [0, 1].flatMap((seed) => names.map((name) => [name, seed])));
    assert.deepEqual(comparison.names, names);
    for (const v of comparison.variants) {
      assert.equal(v.result.steps, 6);
      assert.deepEqual(v.result.evals.map((e) => e.step), [0, 3, 6]);
      assert.equal(v.run.newIds.length, 1);
      assert.ok(v.result.history.every((h) => Number.isFinite(h.newTokenLoss)), "every batch has <sep> targets");
      assert.equal(v.evaluation.emissions.length, 1);
    }
    // Different inits start from different new-token losses on the same eval rows; seeds change the data.
    const initial = comparison.variants.map((v) => v.result.evals[0].newTokenLoss);
    assert.equal(new Set(initial.slice(0, 3)).size, 3);
    const [seed0, seed1] = comparison.runsOf("mean");
    assert.notEqual(seed0.result.history[0].loss, seed1.result.history[0].loss, "another seed, another data order");
    // Each cell is mean ± sd over the two seeds of the figure each run reports.
    const table = comparison.table();
    const direct = initReport(fx.model, Object.fromEntries(names.map((n) => [n, comparison.runsOf(n)[0].added])), texts.slice(0, 3)).rows;
    assert.equal(table.rows.length, 3);
    table.rows.forEach((row, i) => {
      const runs = comparison.runsOf(names[i]);
      const cell = (values: number[]) => formatMeanSd(meanInterval(values));
      assert.ok(String(row[0]).startsWith(names[i]));
      assert.ok(String(row[1]).startsWith(cell(runs.map((v) => v.result.evals[0].newTokenLoss))), `${row[1]}`);
      assert.ok(String(row[3]).startsWith(cell(runs.map((v) => v.result.evals[2].loss))), `${row[3]}`);
      assert.ok(String(row[5]).startsWith(cell(runs.map((v) => v.evaluation.emissions[0].f1))), `${row[5]}`);
      assert.ok(String(row[6]).startsWith(cell(runs.map((v) => lossFluctuation(v.run.history.map((h) => h.newTokenLoss), v.added.model.tokenizer.size).max))), `${row[6]}`);
      assert.deepEqual(row.slice(8), [direct[i].newMassMean, direct[i].klMean, direct[i].klBound]);
    });
    assert.equal(comparison.reference, "zeros", "no random variant: the first is the reference");
    // Steps to target follow the smoothed curve: with the default target every run reaches it.
    for (const v of comparison.variants) {
      const steps = comparison.stepsToTarget(v)!;
      assert.ok(steps >= 1 && steps <= 6);
      assert.ok(v.smoothedNewTokenLoss[steps - 1] <= comparison.targetLoss);
      if (steps > 1) assert.ok(v.smoothedNewTokenLoss[steps - 2] > comparison.targetLoss);
    }
    // One live chart, redrawn in place, ending with one curve per variant.
    const charts = shown.filter((s) => PLOTLY_MIME in s.bundle);
    assert.ok(charts.length >= 2);
    assert.equal(new Set(charts.map((c) => c.options.id)).size, 1);
    const last = charts[charts.length - 1].bundle[PLOTLY_MIME] as { data: Array<{ name: string; y: number[] }> };
    assert.deepEqual(last.data.map((t) => [t.name, t.y.length]), [0, 1].flatMap((seed) => names.map((name) => [`${name} (seed ${seed})`, 6])));
    for (const v of comparison.variants) disposeModels(fx.model, v.added.model, v.result.latest, v.result.best?.model);
    assert.equal(tf.memory().numTensors, tensorsBefore);
  });
});
