import * as assert from "node:assert/strict";
import { prepareData } from "../../lib/data/prepare-data";
import { addTokens } from "../../lib/tokens/add-tokens";
import type { InitStrategy } from "../../lib/tokens/init-strategies";
import { FLUCTUATION_THRESHOLD, lossFluctuation } from "../../lib/train/loss-fluctuation";
import type { StepRecord } from "../../lib/train/run-records";
import { train } from "../../lib/train/train";
import { trainingChart } from "../../lib/train/training-chart";
import { disposeModels, trainFixture } from "./train-fixture";

/** A deterministic ±1 sequence (no Math.random in tests). */
const signs = (n: number) => Array.from({ length: n }, (_, i) => (((i * 7919) % 13) % 2 === 0 ? 1 : -1));
const smooth = Array.from({ length: 40 }, (_, t) => 11 * Math.exp(-0.15 * t) + 0.3);
const violent = signs(40).map((s, t) => 30 - 0.2 * t + 10 * s);
const records = (losses: number[]): StepRecord[] =>
  losses.map((newTokenLoss, i) => ({ step: i + 1, loss: newTokenLoss, newTokenLoss, otherLoss: 2, lr: 0.01, gradNorm: 1, gradNorms: {}, seconds: i }));

describe("new-token loss fluctuation", function () {
  this.timeout(120000);

  it("equals the hand-computed noise sd from the window's second differences, in units of ln V", () => {
    // [1, 3, 1, 3, 1, 3]: second differences −4, 4, −4, 4; √(mean 16 / 6) = 1.632993; V = e, so ln V = 1.
    const f = lossFluctuation([1, 3, 1, 3, 1, 3], Math.E);
    assert.deepEqual(f.values.slice(0, 5).map(Number.isNaN), [true, true, true, true, true]);
    assert.ok(Math.abs(f.values[5] - 1.632993) < 1e-5, `${f.values[5]}`);
    // Non-finite losses (batches without new-token targets) are skipped, not counted.
    const gaps = lossFluctuation([1, NaN, 3, 1, 3, NaN, 1, 3], Math.E);
    assert.ok(Number.isNaN(gaps.values[1]) && Number.isNaN(gaps.values[5]));
    assert.ok(Math.abs(gaps.values[7] - 1.632993) < 1e-5);
    assert.deepEqual([gaps.maxIndex, gaps.alarms], [7, [7]]);
  });

  it("fires on a violently fluctuating curve, not on a smooth fast-decreasing one", () => {
    const quiet = lossFluctuation(smooth, 4096);
    assert.ok(quiet.max < 0.02, `smooth: ${quiet.max}`);
    assert.deepEqual(quiet.alarms, []);
    const loud = lossFluctuation(violent, 4096);
    assert.ok(loud.max > 2 * FLUCTUATION_THRESHOLD, `violent: ${loud.max}`);
    assert.ok(loud.alarms.length > 30, `alarms at ${loud.alarms}`);
    // A straight steep fall is all trend, no spread; a fast fall bending into a plateau nearly so.
    assert.ok(lossFluctuation(Array.from({ length: 20 }, (_, t) => 20 - t), 4096).max < 1e-9);
    assert.ok(lossFluctuation(Array.from({ length: 20 }, (_, t) => 11 * Math.exp(-0.3 * t) + 0.3), 4096).max < 0.03);
  });

  it("the training chart shades the alarm steps and warns above it; a smooth curve gets neither", () => {
    const layoutOf = (losses: number[]) => trainingChart(records(losses), [], [], "t", 4096).layout as { shapes: Array<{ type: string }>; annotations: Array<{ text: string }> };
    const loud = layoutOf(violent);
    assert.equal(loud.shapes.filter((s) => s.type === "rect").length, lossFluctuation(violent, 4096).alarms.length);
    const first = lossFluctuation(violent, 4096).alarms[0] + 1;
    assert.match(loud.annotations[0].text, new RegExp(`⚠ new-token loss fluctuates .* from step ${first}:`));
    const quiet = layoutOf(smooth);
    assert.deepEqual([quiet.shapes.length, quiet.annotations.length], [0, 0]);
  });

  it("a run's summary warns for an init with a huge norm and not for the mean init", async () => {
    const fx = await trainFixture({ tied: true });
    try {
      const texts = Array.from({ length: 40 }, (_, i) => `the fox sat <sep> the dog ${i % 5} ran <sep> in the sun ${i % 3}`);
      const verdicts: string[] = [];
      for (const init of ["mean", { random: { std: 3 } }] as InitStrategy[]) {
        const added = addTokens(fx.model, ["<sep>"], { init });
        const data = prepareData(added.model.tokenizer, texts, { seqLen: 24, evalFraction: 0.1, seed: 0 });
        const run = train(added, data, { strategy: "new-rows", steps: 24, batchSize: 4, lr: 0.05, display: false, seed: 0 });
        const result = await run;
        verdicts.push(String(run.summary().rows.find((r) => r[0] === "new-token loss fluctuation")![1]));
        run.dispose();
        disposeModels(fx.model, added.model, result.latest, result.best?.model);
      }
      assert.doesNotMatch(verdicts[0], /⚠/, `mean: ${verdicts[0]}`);
      assert.match(verdicts[0], /^max 0\.\d+·ln V at step \d+ \(warns above 0\.25\)$/);
      assert.match(verdicts[1], /^⚠ max .* fluctuates violently from step \d+/, `huge norm: ${verdicts[1]}`);
    } finally {
      fx.cleanup();
    }
  });
});
