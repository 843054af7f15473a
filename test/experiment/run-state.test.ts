import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readRunState, writeRunState } from "../../lib/train/run-state";
import { restoreRun, train } from "../../lib/train/train";
import type { TrainOptions } from "../../lib/train/train-options";
import { disposeModels, wholeBytes, trainFixture, type TrainFixture } from "../train/train-fixture";

describe("saved run state", function () {
  let fx: TrainFixture;
  let dir: string;
  before(async () => {
    fx = await trainFixture();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-run-state-"));
  });
  after(() => {
    fx.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a run stopped, saved to disk and rebuilt from the files finishes bit-identical to an uninterrupted run", async () => {
    // Gradual with a stage opening after the stop and early-stopping bookkeeping: every piece of state matters.
    const options: TrainOptions = { strategy: "gradual", steps: 8, batchSize: 4, unfreeze: { every: 3 }, evalEvery: 2, seed: 3, restoreBest: true };
    const reference = train({ model: fx.model, newIds: fx.newIds }, fx.data, options);
    const expected = await reference;

    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, { ...options, onStep: (r) => r.step === 4 && run.stop() });
    const stopped = await run;
    assert.equal(stopped.steps, 4);
    writeRunState(path.join(dir, "state"), run.state());

    const restored = restoreRun({ model: fx.model, newIds: fx.newIds }, fx.data, options, readRunState(path.join(dir, "state")));
    assert.equal(restored.completedSteps, 4);
    const finished = await restored.resume();
    assert.equal(finished.status, "completed");
    const withoutTime = (records: readonly { seconds: number }[]) => records.map(({ seconds: _, ...rest }) => rest);
    assert.deepEqual(withoutTime(finished.history), withoutTime(expected.history));
    assert.deepEqual(finished.evals, expected.evals);
    assert.deepEqual(restored.drift.checkpoints.map((c) => c.step), [0, 2, 4, 6, 8]);
    assert.equal(finished.best?.step, expected.best?.step);
    for (const name of expected.model.weights.keys()) {
      assert.ok(wholeBytes(finished.model, name).equals(wholeBytes(expected.model, name)), `${name} differs after the restored resume`);
    }
    for (const r of [reference, run, restored]) r.dispose();
    disposeModels(fx.model, expected.latest, expected.best?.model, stopped.latest, stopped.best?.model, finished.latest, finished.best?.model);
  });

  it("a run stopped before its first step resumes into the uninterrupted run (its start is evaluated once)", async () => {
    const options: TrainOptions = { steps: 3, batchSize: 4, evalEvery: 1 };
    const reference = train({ model: fx.model, newIds: fx.newIds }, fx.data, options);
    const expected = await reference;
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, options);
    run.stop();
    assert.equal((await run).steps, 0);
    const restored = restoreRun({ model: fx.model, newIds: fx.newIds }, fx.data, options, run.state());
    const finished = await restored.resume();
    assert.deepEqual(finished.evals, expected.evals);
    assert.deepEqual(finished.evals.map((e) => e.step), [0, 1, 2, 3]);
    for (const r of [reference, run, restored]) r.dispose();
    disposeModels(fx.model, expected.latest, expected.best?.model, finished.latest, finished.best?.model);
  });

  it("refuses to continue on other data", async () => {
    const options: TrainOptions = { steps: 2, batchSize: 4 };
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, options);
    const result = await run;
    const state = run.state();
    const other = { ...fx.data, train: fx.data.train.slice(1) };
    assert.throws(() => restoreRun({ model: fx.model, newIds: fx.newIds }, other, options, state), /training data differ/);
    run.dispose();
    disposeModels(fx.model, result.latest, result.best?.model);
  });
});
