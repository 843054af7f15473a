import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { IGNORE_INDEX, type PackedSequence } from "../../lib/data/pack";
import type { CausalLM } from "../../lib/models/causal-lm";
import { train } from "../../lib/train/train";
import { evaluateLoss } from "../../lib/train/train-step";
import { TrainingError } from "../../lib/train/training-error";
import { bytesOf, disposeModels, wholeBytes, trainFixture, type TrainFixture } from "./train-fixture";

describe("train()", function () {
  this.timeout(120000);
  let fx: TrainFixture;
  before(async () => (fx = await trainFixture()));
  after(() => fx.cleanup());

  for (const tied of [false, true]) {
    it(`"new-rows" leaves every other weight bit-identical and changes the new rows (${tied ? "tied" : "untied"})`, async () => {
      const local = tied ? await trainFixture({ tied: true }) : fx;
      try {
        const tensorsBefore = tf.memory().numTensors;
        const run = train({ model: local.model, newIds: local.newIds }, local.data, { strategy: "new-rows", steps: 6, batchSize: 4, lr: 0.05 });
        const result = await run;
        assert.equal(result.status, "completed");
        const { embedding, head } = local.model.layout;
        const rowTensors = [embedding, ...(head ? [head] : [])];
        for (const [name, baseTensor] of local.model.weights) {
          const trained = wholeBytes(result.model, name);
          if (!rowTensors.includes(name)) {
            assert.ok(trained.equals(bytesOf(baseTensor)), `${name} changed`);
            continue;
          }
          const hidden = baseTensor.shape[1]!;
          const rowBytes = hidden * 4;
          const a = bytesOf(baseTensor);
          const b = trained;
          for (let row = 0; row < baseTensor.shape[0]; row++) {
            const same = a.subarray(row * rowBytes, (row + 1) * rowBytes).equals(b.subarray(row * rowBytes, (row + 1) * rowBytes));
            assert.equal(same, !local.newIds.includes(row), `${name} row ${row}`);
          }
        }
        assert.deepEqual(run.trainingGroups, ["embed.new", ...(tied ? [] : ["head.new"])]);
        assert.equal(run.trainableElements, local.newIds.length * local.model.config.hiddenSize * (tied ? 1 : 2));
        run.dispose();
        disposeModels(local.model, result.latest, result.best?.model);
        assert.equal(tf.memory().numTensors, tensorsBefore);
      } finally {
        if (tied) local.cleanup();
      }
    });
  }

  it("splits the loss by new-token targets exactly as an independent float64 computation on a hand-built batch", async () => {
    const [a, b] = fx.newIds;
    const rows: PackedSequence[] = [
      { inputIds: [5, a, 70, 71, b, 9], labels: [a, 70, IGNORE_INDEX, b, 9, a], attentionMask: [1, 1, 1, 1, 1, 1] },
      { inputIds: [b, 100, 101, 102, a, 3], labels: [100, IGNORE_INDEX, 102, a, 3, 4], attentionMask: [1, 1, 1, 1, 1, 1] },
    ];
    const run = train({ model: fx.model, newIds: fx.newIds }, { train: rows, eval: [], seqLen: 6 }, { steps: 1, batchSize: 2 });
    const result = await run;
    const logits = fx.model.logits(rows.map((r) => r.inputIds));
    const values = logits.dataSync();
    const vocab = logits.shape[2];
    logits.dispose();
    const sums = { new: 0, newCount: 0, other: 0, otherCount: 0 };
    rows.forEach((row, r) =>
      row.labels.forEach((label, t) => {
        if (label === IGNORE_INDEX) return;
        const offset = (r * row.labels.length + t) * vocab;
        let max = -Infinity;
        for (let v = 0; v < vocab; v++) max = Math.max(max, values[offset + v]);
        let total = 0;
        for (let v = 0; v < vocab; v++) total += Math.exp(values[offset + v] - max);
        const nll = Math.log(total) + max - values[offset + label];
        if (fx.newIds.includes(label)) (sums.new += nll), sums.newCount++;
        else (sums.other += nll), sums.otherCount++;
      }),
    );
    const step = result.history[0];
    assert.equal(sums.newCount, 4);
    assert.equal(sums.otherCount, 6);
    assert.ok(Math.abs(step.newTokenLoss - sums.new / sums.newCount) < 1e-5, `${step.newTokenLoss} vs ${sums.new / sums.newCount}`);
    assert.ok(Math.abs(step.otherLoss - sums.other / sums.otherCount) < 1e-5);
    assert.ok(Math.abs(step.loss - (sums.new + sums.other) / 10) < 1e-5);
    run.dispose();
    disposeModels(fx.model, result.latest);
  });

  it("gradual unfreezing opens exactly the scheduled groups at the scheduled steps", async () => {
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, {
      strategy: "gradual",
      steps: 5,
      batchSize: 4,
      unfreeze: { every: 3, stages: [["block.1"], ["block.0.mlp"]] },
      groupLr: { "block.*": 0.01 },
    });
    const result = await run;
    const unfreezes = run.events.filter((e) => e.kind === "unfreeze").map((e) => [e.step, e.groups]);
    assert.deepEqual(unfreezes, [[3, ["block.1"]]]);
    assert.deepEqual(run.trainingGroups, ["embed.new", "head.new", "block.1"]);
    // Grad norms are reported only for groups that train, from the step after they opened.
    assert.deepEqual(Object.keys(result.history[2].gradNorms), ["embed.new", "head.new"]);
    assert.deepEqual(Object.keys(result.history[3].gradNorms), ["embed.new", "head.new", "block.1"]);
    for (const [name, baseTensor] of fx.model.weights) {
      const changed = !wholeBytes(result.model, name).equals(bytesOf(baseTensor));
      const inBlock1 = name.startsWith("model.layers.1.");
      if (name.startsWith("model.layers.")) assert.equal(changed, inBlock1, name);
    }
    run.dispose();
    disposeModels(fx.model, result.latest, result.best?.model);
  });

  it("a stage due at the last step does not open (nor count as trained) until resume() trains it", async () => {
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, {
      strategy: "gradual",
      steps: 6,
      batchSize: 4,
      unfreeze: { every: 3, stages: [["block.1"], ["block.0.mlp"]] },
      groupLr: { "block.*": 0.01 },
    });
    const result = await run;
    const unfreezes = () => run.events.filter((e) => e.kind === "unfreeze").map((e) => [e.step, e.groups]);
    assert.deepEqual(unfreezes(), [[3, ["block.1"]]]);
    const summaryGroups = () => String(run.summary().rows.find((row) => row[0] === "groups trained")![1]);
    assert.equal(summaryGroups(), "embed.new, head.new, block.1");
    // Every group the summary lists has trained: its tensors differ from the base; no other block did.
    const { layout } = fx.model;
    const tensorsOf: Record<string, string[]> = {
      "embed.new": [layout.embedding],
      "head.new": [layout.head!],
      "block.1": [...layout.blocks[1].attention, ...layout.blocks[1].mlp, ...layout.blocks[1].norms],
    };
    const changed = (model: CausalLM, name: string) => !wholeBytes(model, name).equals(wholeBytes(fx.model, name));
    for (const group of summaryGroups().split(", ")) assert.ok(tensorsOf[group].every((name) => changed(result.latest, name)), `${group} did not train`);
    const block0 = [...layout.blocks[0].attention, ...layout.blocks[0].mlp, ...layout.blocks[0].norms];
    assert.ok(block0.every((name) => !changed(result.latest, name)));
    assert.equal(result.history.length, 6);
    assert.ok(result.history.every((h) => !("block.0.mlp" in h.gradNorms)));

    // Training on opens the due stage at once: it then trains from step 7.
    const resumed = await run.resume({ steps: 2 });
    assert.deepEqual(unfreezes(), [[3, ["block.1"]], [6, ["block.0.mlp"]]]);
    assert.equal(summaryGroups(), "embed.new, head.new, block.1, block.0.mlp");
    assert.ok(layout.blocks[0].mlp.every((name) => changed(resumed.latest, name)));
    assert.ok([...layout.blocks[0].attention, ...layout.blocks[0].norms].every((name) => !changed(resumed.latest, name)));
    assert.ok("block.0.mlp" in resumed.history[6].gradNorms);
    run.dispose();
    disposeModels(fx.model, result.latest, result.best?.model, resumed.latest, resumed.best?.model);
  });

  it("unfreezes on an eval-loss plateau exactly when `patience` evals in a row did not improve", async () => {
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, {
      strategy: "gradual",
      steps: 12,
      batchSize: 4,
      lr: 0.3,
      evalEvery: 1,
      unfreeze: { onPlateau: { patience: 2 } },
    });
    const result = await run;
    // Re-derive by hand from the recorded eval losses (step 0 is the eval before training).
    const expected: number[] = [];
    let best = Infinity;
    let bad = 0;
    for (const { step, loss } of result.evals) {
      if (loss < best) (best = loss), (bad = 0);
      else bad++;
      if (step > 0 && bad >= 2 && expected.length < 2) (expected.push(step), (bad = 0));
    }
    const opened = run.events.filter((e) => e.kind === "unfreeze");
    assert.ok(expected.length > 0, "the high learning rate makes the eval loss plateau");
    assert.deepEqual(opened.map((e) => e.step), expected);
    assert.deepEqual(opened.map((e) => e.groups), [["block.1", "norm.final"], ["block.0"]].slice(0, expected.length));
    run.dispose();
    disposeModels(fx.model, result.latest, result.best?.model);
  });

  it("early stopping ends after `patience` worse evals and returns the best step's weights", async () => {
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, {
      strategy: "full",
      steps: 40,
      batchSize: 4,
      lr: 0.05,
      schedule: "constant",
      evalEvery: 1,
      earlyStopping: { patience: 2 },
    });
    const result = await run;
    assert.equal(result.status, "early-stopped");
    const losses = result.evals.map((e) => e.loss);
    const bestIndex = losses.indexOf(Math.min(...losses));
    assert.equal(result.best!.step, result.evals[bestIndex].step);
    assert.equal(result.evals.length - 1 - bestIndex, 2, "stopped after exactly `patience` evals without improvement");
    assert.ok(result.best!.step < result.steps);
    assert.equal(result.model, result.best!.model);
    // The returned weights really are the best step's: re-evaluate them independently of the run.
    const newIds = new Set(fx.newIds);
    const again = evaluateLoss(result.model, () => ({ weights: result.model.weights }), fx.data.eval, 4, newIds).all;
    assert.ok(Math.abs(again - result.best!.evalLoss) < 1e-5, `${again} vs ${result.best!.evalLoss}`);
    const latest = evaluateLoss(result.latest, () => ({ weights: result.latest.weights }), fx.data.eval, 4, newIds).all;
    assert.ok(Math.abs(latest - losses[losses.length - 1]) < 1e-5);
    run.dispose();
    disposeModels(fx.model, result.latest, result.best?.model);
  });

  it("an interrupt stops at a step boundary; resume() finishes bit-identical to an uninterrupted run", async () => {
    const options = { strategy: "gradual" as const, steps: 8, batchSize: 4, unfreeze: { every: 4 }, seed: 3 };
    const reference = train({ model: fx.model, newIds: fx.newIds }, fx.data, options);
    const expected = await reference;

    const controller = new AbortController();
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, { ...options, signal: controller.signal });
    const watcher = setInterval(() => run.completedSteps >= 3 && controller.abort(), 1);
    const stopped = await run;
    clearInterval(watcher);
    assert.equal(stopped.status, "interrupted");
    assert.ok(stopped.steps >= 3 && stopped.steps < 8, `stopped at ${stopped.steps}`);
    assert.equal(run.history.length, stopped.steps);
    assert.deepEqual(run.history.map((h) => h.step), Array.from({ length: stopped.steps }, (_, i) => i + 1));
    assert.deepEqual(run.history.map((h) => h.loss), expected.history.slice(0, stopped.steps).map((h) => h.loss));

    const finished = await run.resume();
    assert.equal(finished.status, "completed");
    assert.deepEqual(finished.history.map((h) => h.loss), expected.history.map((h) => h.loss));
    for (const name of expected.latest.weights.keys()) {
      assert.ok(wholeBytes(finished.latest, name).equals(wholeBytes(expected.latest, name)), `${name} differs after resume`);
    }
    reference.dispose();
    run.dispose();
    disposeModels(fx.model, expected.latest, expected.best?.model, stopped.latest, stopped.best?.model, finished.latest, finished.best?.model);
  });

  it("run.stop() ends the run at the next step boundary with its weights", async () => {
    const run = train({ model: fx.model, newIds: fx.newIds }, fx.data, {
      steps: 20,
      batchSize: 4,
      onStep: (record) => record.step === 2 && run.stop(),
    });
    const result = await run;
    assert.equal(result.status, "stopped");
    assert.equal(result.steps, 2);
    assert.deepEqual(run.events.map((e) => e.kind).slice(-1), ["stopped"]);
    // Bad resume options are refused and leave the run as it was.
    assert.throws(() => run.resume({ steps: NaN }), /resume option steps must be a finite integer ≥ 0, got NaN/);
    assert.throws(() => run.resume({ step: 3 } as object), /unknown resume option "step"; the options are steps, signal/);
    assert.equal(run.status, "stopped");
    // The latest weights are those of step 2: resuming from them continues to step 20.
    const resumed = await run.resume();
    assert.equal(resumed.steps, 20);
    run.dispose();
    disposeModels(fx.model, result.latest, result.best?.model, resumed.latest, resumed.best?.model);
  });

  it("refuses new ids that are not tokens of the model, before any step", () => {
    const rows = fx.model.weights.get(fx.model.layout.embedding)!.shape[0];
    assert.throws(
      () => train({ model: fx.model, newIds: [fx.newIds[0], 99999] }, fx.data, { steps: 1 }),
      (error: unknown) => error instanceof Error && /train: newIds: 99999 is not a token id of this model/.test(error.message),
    );
    // A padding row (beyond the tokenizer, inside the embedding) is no token either.
    assert.ok(fx.model.tokenizer.size < rows);
    assert.throws(() => train(fx.model, fx.data, { newIds: [fx.model.tokenizer.size], steps: 1 }), /is not a token id/);
  });

  it("refuses a disposed model with an error that says so", async () => {
    const local = await trainFixture();
    local.cleanup();
    assert.throws(() => train({ model: local.model, newIds: local.newIds }, local.data, { steps: 1 }), /train: the model was disposed/);
  });

  it("refuses GPT-2 rows longer than n_positions up front, and the forward pass names n_positions too", async () => {
    const local = await trainFixture({ architecture: "GPT2LMHeadModel", configOverrides: { n_positions: 16 } });
    try {
      // fx.data rows are 24 long.
      assert.throws(
        () => train({ model: local.model, newIds: local.newIds }, fx.data, { steps: 1 }),
        /train: seqLen: 24 positions do not fit this GPT2LMHeadModel, whose learned position table has 16 rows \(n_positions = 16 in config.json\); use at most 16/,
      );
      assert.throws(() => local.model.logits([new Array(17).fill(1)]), /GPT-2 forward: 17 positions do not fit .*n_positions = 16/);
      const logits = local.model.logits([new Array(16).fill(1)]);
      assert.deepEqual(logits.shape.slice(0, 2), [1, 16]);
      logits.dispose();
    } finally {
      local.cleanup();
    }
  });

  it("stops with a clear error naming the step and group when the loss turns NaN, keeping the last good weights", async () => {
    const { embedding } = fx.model.layout;
    const base = fx.model.weights.get(embedding)!;
    const data = Float32Array.from(base.dataSync() as Float32Array);
    data[fx.newIds[0] * base.shape[1]!] = NaN;
    const poisoned = tf.tensor(data, base.shape);
    const model = fx.model.withChanges({ weights: new Map([...fx.model.weights, [embedding, poisoned]]) });
    const run = train({ model, newIds: fx.newIds }, fx.data, { steps: 3, batchSize: 4 });
    await assert.rejects(
      Promise.resolve(run),
      (error: any) =>
        error instanceof TrainingError && error.context.step === 1 && /step 1/.test(error.message) && /embed\.new/.test(error.message),
    );
    assert.equal(run.status, "failed");
    assert.equal(run.result!.steps, 0);
    run.dispose();
    disposeModels(model, run.result!.latest);
    poisoned.dispose();
  });
});
