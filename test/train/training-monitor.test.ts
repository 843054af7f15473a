import * as assert from "node:assert/strict";
import { PLOTLY_MIME } from "../../lib/display/figure";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { NOTEBOOK_HOST } from "../../lib/runtime/notebook-host";
import { train } from "../../lib/train/train";
import { installFakeHost } from "../fixtures/fake-notebook-host";
import { disposeModels, trainFixture, type TrainFixture } from "./train-fixture";

describe("live training display", function () {
  this.timeout(120000);
  let fx: TrainFixture;
  before(async () => (fx = await trainFixture()));
  after(() => fx.cleanup());

  it("redraws one chart in place under one display id, with a progress bar and a final summary table", async () => {
    const fake = installFakeHost();
    try {
      const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, { steps: 12, batchSize: 4, displayEvery: 3 });
      const result = await run;
      const bundles = fake.shown;
      const charts = bundles.filter((s) => PLOTLY_MIME in s.bundle);
      assert.ok(charts.length >= 2, `chart drawn ${charts.length} times`);
      assert.equal(new Set(charts.map((c) => c.options.id)).size, 1, "every chart frame uses the same display id");
      assert.ok(charts[0].options.id);
      assert.deepEqual(charts.map((c) => Boolean(c.options.update)), [false, ...charts.slice(1).map(() => true)]);
      // The last frame shows all 12 steps of the new-token loss.
      const last = charts[charts.length - 1].bundle[PLOTLY_MIME] as { data: Array<{ name: string; y: number[] }> };
      assert.equal(last.data.find((t) => t.name === "loss on new-token targets")!.y.length, 12);
      const progress = bundles.filter((s) => /tokenlab-progress/.test(String(s.bundle["text/html"])));
      assert.ok(progress.length >= 1);
      assert.equal(new Set(progress.map((p) => p.options.id)).size, 1);
      assert.notEqual(progress[0].options.id, charts[0].options.id);
      assert.match(String(progress[progress.length - 1].bundle["text/plain"]), /12\/12/);
      const summary = bundles[bundles.length - 1];
      assert.equal(summary.options.id, undefined);
      assert.match(String(summary.bundle["text/plain"]), /status\s+completed/);
      // The run (and what `await run` gives) displays as chart + summary, never as a tensor dump.
      for (const shownValue of [run, result]) {
        const bundle = shownValue[JUPYTER_DISPLAY]();
        assert.match(String(bundle["text/html"]), /tokenlab-plot[\s\S]*<table/);
        assert.match(String(bundle["text/plain"]), /new-token loss first → last/);
      }
      run.dispose();
      disposeModels(fx.model, result.latest, result.best?.model);
    } finally {
      fake.remove();
    }
    assert.equal((globalThis as Record<symbol, unknown>)[NOTEBOOK_HOST], undefined);
  });

  it("stops at a step boundary when the notebook's cell signal is aborted", async () => {
    const fake = installFakeHost();
    try {
      const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, { steps: 50, batchSize: 4 });
      const watcher = setInterval(() => run.completedSteps >= 2 && fake.controller.abort(), 1);
      const result = await run;
      clearInterval(watcher);
      assert.equal(result.status, "interrupted");
      assert.ok(result.steps >= 2 && result.steps < 50);
      run.dispose();
      disposeModels(fx.model, result.latest, result.best?.model);
    } finally {
      fake.remove();
    }
  });
});
