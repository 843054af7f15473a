import * as assert from "node:assert/strict";
import { train } from "../../lib/train/train";
import { disposeModels, wholeBytes, trainFixture, type TrainFixture } from "./train-fixture";

/**
 * AdamW's first update of an element is lr·g/(|g| + ε) ≈ ±lr whenever |g| ≫ ε (here ε = 1e-8), so
 * after one step every trained element moved by its own learning rate: the typical |Δ| of each
 * tensor reads off the learning rate that reached the optimizer for it.
 */
describe("learning rates in a run", function () {
  this.timeout(120000);
  let fx: TrainFixture;
  before(async () => (fx = await trainFixture()));
  after(() => fx.cleanup());

  it("per-group rates and the embedding rate each reach the optimizer (one AdamW step moves elements by ≈ lr)", async () => {
    const rates = { lr: 1e-3, embeddingLr: 4e-3, blocks: 2e-3, block0Attn: 5e-4 };
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, {
      strategy: ["embed.new", "head.new", "block.0", "block.1.mlp", "norm.final"],
      steps: 1,
      batchSize: 4,
      lr: rates.lr,
      embeddingLr: rates.embeddingLr,
      // The last matching entry wins: block.0's attention takes the second entry, the rest of the blocks the first.
      groupLr: { "block.*": rates.blocks, "block.0.attn": rates.block0Attn },
      schedule: "constant",
      weightDecay: 0,
      clipNorm: 0,
    });
    const result = await run;
    const { layout } = fx.model;
    const [block0, block1] = layout.blocks;
    // Expected rate per tensor, written out from the options above (not via the library's lookup).
    const expected = new Map<string, number>([
      ...block0.attention.map((name) => [name, rates.block0Attn] as const),
      ...[...block0.mlp, ...block0.norms, ...block1.mlp].map((name) => [name, rates.blocks] as const),
      ...layout.finalNorm.map((name) => [name, rates.lr] as const),
      [layout.embedding, rates.embeddingLr],
      [layout.head!, rates.embeddingLr],
    ]);
    for (const [name, baseTensor] of fx.model.weights) {
      const before = baseTensor.dataSync();
      const after = new Float32Array(Uint8Array.from(wholeBytes(result.latest, name)).buffer);
      const hidden = baseTensor.shape.length === 2 ? baseTensor.shape[1]! : before.length;
      const rowOnly = name === layout.embedding || name === layout.head;
      const moved: number[] = [];
      for (let i = 0; i < before.length; i++) {
        const delta = Math.abs(after[i] - before[i]);
        if (rowOnly && !fx.newIds.includes(Math.floor(i / hidden))) assert.equal(delta, 0, `${name} element ${i}: not a new row, yet it moved`);
        else moved.push(delta);
      }
      const lr = expected.get(name);
      if (lr === undefined) {
        assert.ok(moved.every((d) => d === 0), `${name} is not trained but moved`);
        continue;
      }
      moved.sort((a, b) => a - b);
      const median = moved[Math.floor(moved.length / 2)];
      assert.ok(Math.abs(median / lr - 1) < 1e-2, `${name}: median |Δ| ${median} vs lr ${lr}`);
      assert.ok(moved[moved.length - 1] <= lr * (1 + 1e-2), `${name}: an element moved by ${moved[moved.length - 1]} > lr ${lr}`);
    }
    run.dispose();
    disposeModels(fx.model, result.latest, result.best?.model);
  });
});
