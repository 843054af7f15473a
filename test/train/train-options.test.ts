import * as assert from "node:assert/strict";
import type { ParameterLayout } from "../../lib/models/causal-lm";
import { learningRateOf, resolveOptions, strategyGroups, type TrainOptions } from "../../lib/train/train-options";
import { TrainingError } from "../../lib/train/training-error";

const layout: ParameterLayout = {
  embedding: "model.embed_tokens.weight",
  head: "lm_head.weight",
  extras: [],
  blocks: [0, 1, 2].map((i) => ({
    attention: [`model.layers.${i}.self_attn.q_proj.weight`],
    mlp: [`model.layers.${i}.mlp.up_proj.weight`],
    norms: [`model.layers.${i}.input_layernorm.weight`],
  })),
  finalNorm: ["model.norm.weight"],
};

describe("training options", () => {
  it("gives each strategy its documented defaults", () => {
    const full = resolveOptions({ strategy: "full", steps: 100 });
    assert.deepEqual([full.lr, full.weightDecay, full.clipNorm, full.earlyStopping, full.restoreBest], [3e-4, 0.01, 1, { patience: 3, minDelta: 0 }, true]);
    // warmup + cosine: 10 warmup steps, then decay to 10% at step 100.
    assert.equal(full.schedule(0), 0.1);
    assert.equal(full.schedule(9), 1);
    assert.ok(Math.abs(full.schedule(100) - 0.1) < 1e-12);
    const rows = resolveOptions({});
    assert.deepEqual([rows.strategy, rows.lr, rows.weightDecay, rows.earlyStopping, rows.schedule(50)], ["new-rows", 1e-2, 0, false, 1]);
    assert.throws(() => resolveOptions({ strategy: "gradual" }), /needs `unfreeze/);
    assert.throws(() => resolveOptions({ steps: 0 }), /train option steps must be a finite integer ≥ 1, got 0/);
  });

  it("refuses bad values and unknown keys up front, naming the option (never NaN training, gradient ascent or a silent default)", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ lr: NaN }, /train option lr must be a finite number > 0, got NaN/],
      [{ lr: -0.5 }, /train option lr must be a finite number > 0, got -0.5/],
      [{ embeddingLr: Infinity }, /embeddingLr must be a finite number > 0, got Infinity/],
      [{ groupLr: { "block.*": 0 } }, /groupLr\["block\.\*"\] must be a finite number > 0, got 0/],
      [{ schedule: "cosine" }, /schedule must be one of "constant", "warmup-cosine", got "cosine"/],
      [{ strategy: "ful" }, /strategy must be one of "new-rows", "gradual", "full", got "ful"/],
      [{ batchSize: 2.5 }, /batchSize must be a finite integer ≥ 1, got 2.5/],
      [{ steps: "10" }, /steps must be a finite integer ≥ 1, got "10"/],
      [{ weightDecay: -1 }, /weightDecay must be a finite number ≥ 0, got -1/],
      [{ clipNorm: NaN }, /clipNorm must be a finite number ≥ 0, got NaN/],
      [{ earlyStopping: { patience: 0 } }, /earlyStopping.patience must be a finite integer ≥ 1, got 0/],
      [{ earlyStopping: { patience: 2, min_delta: 0.1 } }, /unknown train option "min_delta" in earlyStopping; the options are patience, minDelta/],
      [{ learningRate: 1e-3 }, /unknown train option "learningRate"; the options are seqLen, evalFraction, seed, lossOn, separatorId, strategy, newIds, steps, batchSize, lr,/],
      [{ restoreBest: "yes" }, /restoreBest must be true or false, got "yes"/],
    ];
    assert.throws(() => resolveOptions(null as unknown as TrainOptions), /train options must be an object \{seqLen, evalFraction, .*\}, got null/);
    for (const [options, message] of cases) {
      assert.throws(() => resolveOptions(options as TrainOptions), (error: unknown) => error instanceof TrainingError && message.test((error as Error).message), JSON.stringify(options));
    }
  });

  it("resolves the groups of each strategy, top block first for gradual", () => {
    const gradual = strategyGroups(layout, [7, 8], "gradual");
    assert.deepEqual(gradual.initial.map((g) => g.name), ["embed.new", "head.new"]);
    assert.deepEqual(gradual.stages.map((s) => s.map((g) => g.name)), [["block.2", "norm.final"], ["block.1"], ["block.0"]]);
    assert.deepEqual(strategyGroups(layout, [], "full").initial.map((g) => g.name), ["embed", "block.0", "block.1", "block.2", "norm.final", "head"]);
    assert.deepEqual(strategyGroups(layout, [7], ["block.-1:", "embed.new"]).initial.map((g) => g.name), ["embed.new", "block.2"]);
    assert.throws(() => strategyGroups(layout, [], "new-rows"), /no new token ids/);
  });

  it("picks per-group learning rates: embedding rate for embed/head, then the last matching groupLr entry", () => {
    const all = strategyGroups(layout, [7], "full").all;
    const options = { lr: 1, embeddingLr: 2, groupLr: { "block.*": 3, "block.-1:.mlp": 4, "head.new": 5 } };
    assert.equal(learningRateOf({ tensor: "model.embed_tokens.weight" }, all, layout, options), 2);
    assert.equal(learningRateOf({ tensor: "model.norm.weight" }, all, layout, options), 1);
    assert.equal(learningRateOf({ tensor: "model.layers.0.mlp.up_proj.weight" }, all, layout, options), 3);
    assert.equal(learningRateOf({ tensor: "model.layers.2.mlp.up_proj.weight" }, all, layout, options), 4);
    assert.equal(learningRateOf({ tensor: "model.layers.2.self_attn.q_proj.weight" }, all, layout, options), 3);
    assert.equal(learningRateOf({ tensor: "lm_head.weight", rows: {} }, all, layout, options), 5);
    assert.equal(learningRateOf({ tensor: "lm_head.weight" }, all, layout, options), 2);
  });
});
