import * as assert from "node:assert/strict";
import { InitComparison, type InitVariant } from "../../lib/analysis/compare-inits";
import { formatInterval, formatMeanSd, meanInterval, pairedDifference, seedTable, withinNoise } from "../../lib/analysis/seed-statistics";

const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-4, `${what}: ${actual} vs ${expected}`);

/** A run whose smoothed new-token loss first reaches 1 (the target below) at `reachedAt` (never when undefined). */
function fakeRun(name: string, seed: number, reachedAt: number | undefined, initialLoss: number, f1: number): InitVariant {
  const smoothed = Array.from({ length: 12 }, (_, i) => (reachedAt !== undefined && i + 1 >= reachedAt ? 0.5 : 2));
  return {
    name,
    seed,
    smoothedNewTokenLoss: smoothed,
    run: { history: smoothed.map((loss, i) => ({ step: i + 1, newTokenLoss: loss })) },
    added: { model: { tokenizer: { size: 100 } } },
    result: { evals: [{ step: 0, loss: 3, newTokenLoss: initialLoss }, { step: 12, loss: 2, newTokenLoss: 0.4 }], history: [] },
    evaluation: { emissions: [{ f1 }, { f1: NaN }] },
  } as unknown as InitVariant;
}

describe("seed statistics", () => {
  it("mean, sample sd and 95% t interval equal hand-computed values", () => {
    // [2, 4, 9]: mean 5, squared deviations 9 + 1 + 16 = 26, sd √(26/2) = √13; t(0.975, 2) = 4.303.
    const i = meanInterval([2, 4, 9]);
    assert.deepEqual([i.n, i.missing, i.mean], [3, 0, 5]);
    near(i.sd, 3.605551, "sd");
    near(i.low, 5 - 8.957410, "low");
    near(i.high, 5 + 8.957410, "high");
    assert.equal(formatMeanSd(i), "5 ± 3.606");
    assert.equal(formatInterval(i, "×"), "5× [-3.957, 13.96]");
    // A run that never reached the figure is left out and counted: [3, 5] → mean 4, sd √2, t(0.975, 1) = 12.706.
    const partial = meanInterval([3, NaN, undefined, 5]);
    assert.deepEqual([partial.n, partial.missing, partial.mean], [2, 2, 4]);
    near(partial.high, 4 + 12.706, "high with one degree of freedom");
    assert.equal(formatMeanSd(partial), "4 ± 1.414 (2/4)");
    const one = meanInterval([7]);
    assert.ok(Number.isNaN(one.sd) && withinNoise(one), "one run cannot tell anything from noise");
  });

  it("paired differences: consistent per-seed gaps are real, gaps that change sign are within noise", () => {
    // Differences [2, 3, 4]: mean 3, sd 1, interval 3 ± 4.303/√3 = [0.5157, 5.4843].
    const real = pairedDifference([10, 12, 15], [8, 9, 11]);
    near(real.mean, 3, "mean");
    near(real.low, 0.515671, "low");
    assert.equal(withinNoise(real), false);
    // Differences [1, −1, 2]: the interval contains 0.
    assert.equal(withinNoise(pairedDifference([3, 5, 6], [2, 6, 4])), true);
    // Pairs where either side is missing are dropped: [12 − 9, 15 − 11] only.
    const dropped = pairedDifference([NaN, 12, 15], [8, 9, 11]);
    assert.deepEqual([dropped.n, dropped.mean], [2, 3.5]);
  });

  it("the seed table shows mean ± sd per variant and marks figures within noise of the reference", () => {
    const records = [0, 1, 2].flatMap((seed) => [
      { variant: "ref", seed, values: { loss: [10, 12, 15][seed] } },
      { variant: "better", seed, values: { loss: [8, 9, 11][seed] } },
      { variant: "same", seed, values: { loss: [9, 13, 13][seed] } },
    ]);
    const table = seedTable(records, { metrics: ["loss"], reference: "ref", title: "t", extraColumns: { n: (v) => v.length } });
    assert.deepEqual(table.columns, ["variant", "loss", "n"]);
    assert.deepEqual(table.rows, [
      ["ref (reference)", "12.33 ± 2.517", 3],
      ["better", "9.333 ± 1.528", 6],
      ["same", "11.67 ± 2.309 ≈", 4],
    ]);
    assert.match(table.title, /mean ± sd over 3 seeds \(0, 1, 2\); ≈: within noise of ref/);
  });

  it("InitComparison: speed-up over the reference per seed, with its interval; steps, losses and F1 aggregated over seeds", () => {
    const variants = [
      ...[8, 10, 6].map((steps, seed) => fakeRun("random", seed, steps, 10 + seed, 0.2)),
      ...[4, 5, 2].map((steps, seed) => fakeRun("from", seed, steps, 3 + seed, 0.6)),
      ...[8, undefined, 7].map((steps, seed) => fakeRun("zeros", seed, steps, 11, 0.1)),
    ];
    const comparison = new InitComparison(variants, [], 1);
    assert.equal(comparison.reference, "random");
    // Ratios 8/4, 10/5, 6/2 = [2, 2, 3]: mean 7/3, sd √(1/3), half-width 4.303 · √(1/3) / √3.
    const s = comparison.speedUp("from");
    near(s.mean, 7 / 3, "speed-up");
    near(s.sd, Math.sqrt(1 / 3), "sd");
    near(s.high - s.mean, (4.303 * Math.sqrt(1 / 3)) / Math.sqrt(3), "half-width");
    assert.deepEqual([comparison.speedUp("zeros").n, comparison.speedUp("zeros").missing], [2, 1]);
    const table = comparison.table();
    const row = (name: string) => table.rows.find((r) => String(r[0]).startsWith(name))!;
    const column = (name: string) => table.columns.indexOf(name);
    assert.equal(row("from")[column("steps to target")], "3.667 ± 1.528");
    assert.equal(row("from")[column("initial new-token loss")], "4 ± 1", "[3, 4, 5]; differences from random all −7: not noise");
    assert.equal(row("zeros")[column("steps to target")], "7.5 ± 0.7071 (2/3) ≈");
    assert.equal(row("from")[column("emission F1")], "0.6 ± 0", "mean F1 over the new tokens that have one");
    assert.equal(row("from")[column("speed-up vs random [95% CI]")], "2.333× [0.899, 3.768]");
  });
});
