import * as assert from "node:assert/strict";
import { plotDrift } from "../../lib/analysis/plot-drift";
import { fitPca } from "../../lib/analysis/pca";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { train } from "../../lib/train/train";
import { disposeModels, trainFixture, type TrainFixture } from "../train/train-fixture";

describe("embedding drift", function () {
  this.timeout(120000);
  let fx: TrainFixture;
  before(async () => (fx = await trainFixture()));
  after(() => fx.cleanup());

  it("records the new rows every K steps and plots distance, cosine, neighbours and PCA trajectories", async () => {
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, { steps: 6, batchSize: 4, lr: 0.05, driftEvery: 2 });
    const result = await run;
    assert.deepEqual(run.drift.checkpoints.map((c) => c.step), [0, 2, 4, 6]);
    const report = plotDrift(run, { neighbours: 3 });
    const embedding = fx.model.layout.embedding;
    const hidden = fx.model.config.hiddenSize;
    const before = fx.model.weights.get(embedding)!.dataSync();
    const after = result.model.weights.get(embedding)!.dataSync();
    report.series.forEach((series, i) => {
      const id = fx.newIds[i];
      assert.deepEqual(series.steps, [0, 2, 4, 6]);
      assert.equal(series.distance[0], 0);
      assert.ok(Math.abs(series.cosine[0] - 1) < 1e-6);
      // The last checkpoint is the trained model's row: compare with the weights themselves.
      let squared = 0;
      for (let j = 0; j < hidden; j++) squared += (after[id * hidden + j] - before[id * hidden + j]) ** 2;
      assert.ok(Math.abs(series.distance[3] - Math.sqrt(squared)) < 1e-5, `${series.distance[3]} vs ${Math.sqrt(squared)}`);
      assert.ok(series.distance[3] > 0);
    });
    // One neighbour row per checkpoint and new token, never listing a new token as a neighbour.
    assert.equal(report.neighbours.rows.length, 4 * fx.newIds.length);
    for (const row of report.neighbours.rows) assert.equal(String(row[2]).split(", ").length, 3);
    // Each new token's trajectory: one point per checkpoint, the first at the PCA projection of its initial row.
    const tokenRows = fx.model.tokenizer.size;
    const newSet = new Set(fx.newIds);
    const fitIds = Array.from({ length: tokenRows }, (_, i) => i).filter((i) => !newSet.has(i));
    const fitData = new Float32Array(fitIds.length * hidden);
    fitIds.forEach((id, r) => fitData.set((before as Float32Array).subarray(id * hidden, (id + 1) * hidden), r * hidden));
    const pca = fitPca(fitData, fitIds.length, hidden, 2);
    fx.newIds.forEach((id) => {
      const trace = report.projection.data.find((t) => t.name === fx.model.tokenizer.decode([id]))!;
      assert.equal(trace.x!.length, 4);
      const expected = pca.project((before as Float32Array).subarray(id * hidden, (id + 1) * hidden));
      assert.ok(Math.abs((trace.x![0] as number) - expected[0]) < 1e-6);
      assert.ok(Math.abs((trace.y![0] as number) - expected[1]) < 1e-6);
    });
    const bundle = report[JUPYTER_DISPLAY]();
    assert.match(String(bundle["text/html"]), /tokenlab-plot/);
    assert.match(String(bundle["text/plain"]), /nearest existing tokens/);
    run.dispose();
    disposeModels(fx.model, result.latest, result.best?.model);
  });
});
