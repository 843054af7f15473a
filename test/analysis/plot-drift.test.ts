import * as assert from "node:assert/strict";
import { plotDrift } from "../../lib/analysis/plot-drift";
import { fitPca } from "../../lib/analysis/pca";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { train } from "../../lib/train/train";
import { disposeModels, trainFixture, wholeBytes, type TrainFixture } from "../train/train-fixture";

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
    const after = new Float32Array(Uint8Array.from(wholeBytes(result.model, embedding)).buffer); // trained rows in place
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

  it("lists as neighbours the top-k existing rows by float64 cosine, never a new token", async () => {
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, { steps: 4, batchSize: 4, lr: 0.05, driftEvery: 2 });
    const result = await run;
    const k = 4;
    const report = plotDrift(run, { neighbours: k });
    const hidden = fx.model.config.hiddenSize;
    const embedding = fx.model.weights.get(fx.model.layout.embedding)!.dataSync();
    const tokenRows = Math.min(fx.model.tokenizer.size, fx.model.config.vocabSize);
    const newSet = new Set(fx.newIds);
    const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let j = 0; j < hidden; j++) (dot += a[j] * b[j]), (na += a[j] ** 2), (nb += b[j] ** 2);
      return dot / Math.sqrt(na * nb);
    };
    assert.equal(report.nearest.length, run.drift.checkpoints.length * fx.newIds.length);
    run.drift.checkpoints.forEach((checkpoint, index) => {
      fx.newIds.forEach((id) => {
        const query = run.drift.row(index, id);
        const ranked = Array.from({ length: tokenRows }, (_, other) => ({ id: other, similarity: cosine(query, embedding.subarray(other * hidden, (other + 1) * hidden)) }))
          .filter((n) => !newSet.has(n.id))
          .sort((a, b) => b.similarity - a.similarity);
        const listed = report.nearest.find((n) => n.step === checkpoint.step && n.id === id)!;
        assert.equal(listed.neighbours.length, k);
        assert.ok(listed.neighbours.every((n) => !newSet.has(n.id)), `step ${checkpoint.step}: a new token listed as a neighbour`);
        listed.neighbours.forEach((n, rank) => {
          assert.ok(Math.abs(n.similarity - ranked[rank].similarity) < 1e-5, `step ${checkpoint.step} rank ${rank}: ${n.similarity} vs ${ranked[rank].similarity}`);
          // Ids agree except where two candidates tie within float32 precision.
          if (Math.abs(ranked[rank].similarity - (ranked[rank + 1]?.similarity ?? -Infinity)) > 1e-5 && Math.abs(ranked[rank].similarity - (ranked[rank - 1]?.similarity ?? Infinity)) > 1e-5) {
            assert.equal(n.id, ranked[rank].id, `step ${checkpoint.step} rank ${rank}`);
          }
        });
      });
    });
    // At step 0 each new token's query is its own base row (cosine 1): dropping it is what keeps new ids out.
    const initialSelf = cosine(run.drift.row(0, fx.newIds[0]), embedding.subarray(fx.newIds[0] * hidden, (fx.newIds[0] + 1) * hidden));
    assert.ok(Math.abs(initialSelf - 1) < 1e-6);
    // The table shows exactly these neighbours.
    report.nearest.forEach((n, row) => {
      const text = n.neighbours.map((x) => `${JSON.stringify(fx.model.tokenizer.decode([x.id]))} ${x.similarity.toFixed(2)}`).join(", ");
      assert.deepEqual(report.neighbours.rows[row], [n.step, fx.model.tokenizer.decode([n.id]), text]);
    });
    run.dispose();
    disposeModels(fx.model, result.latest, result.best?.model);
  });
});
