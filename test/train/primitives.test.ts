import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { TokenlabError } from "../../lib/errors/tokenlab-error";
import { AdamW } from "../../lib/train/adamw";
import { clipGradients, gradientNorms } from "../../lib/train/clip-gradients";
import { crossEntropy, IGNORE_INDEX } from "../../lib/train/cross-entropy";
import { gaussian } from "../fixtures/tiny-checkpoint";
import { relativeError, runPrimitiveReference } from "../reference/run-reference";

function randomMatrix(rows: number, cols: number, seed: number, scale = 1): number[][] {
  const random = gaussian(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => scale * random()));
}

describe("training primitives against PyTorch", function () {
  this.timeout(120_000);
  before(() => initBackend());

  describe("crossEntropy", () => {
    // Wide logits (scale 8) so some labels are very unlikely; -100 positions are ignored.
    const logits = randomMatrix(6, 50, 3, 8);
    const labels = [3, IGNORE_INDEX, 49, 0, IGNORE_INDEX, 17];

    it("gives torch's mean loss, per-position losses and gradient, ignoring -100", () => {
      const expected = runPrimitiveReference<{ loss: number; per_position: number[]; grad: number[][] }>({
        op: "cross_entropy",
        logits,
        labels,
      });
      const z = tf.tensor2d(logits);
      const y = tf.tensor1d(labels, "int32");
      const result = crossEntropy(z, y);
      assert.ok(Math.abs(result.loss.dataSync()[0] - expected.loss) / expected.loss < 1e-5);
      assert.ok(relativeError(result.perPosition.dataSync(), expected.per_position) < 1e-5);
      assert.deepEqual(Array.from(result.counted.dataSync()), [1, 0, 1, 1, 0, 1]);
      const grad = tf.grad((x: tf.Tensor) => crossEntropy(x, y).loss)(z);
      assert.ok(relativeError(grad.dataSync(), expected.grad.flat()) < 1e-5, "gradient");
      tf.dispose([z, y, result.loss, result.perPosition, result.counted, grad]);
    });

    it("keeps the batch shape for per-position losses and is 0 when nothing counts", () => {
      const z = tf.tensor3d([randomMatrix(2, 5, 4), randomMatrix(2, 5, 5)]);
      const y = tf.tensor2d([[IGNORE_INDEX, IGNORE_INDEX], [IGNORE_INDEX, IGNORE_INDEX]], undefined, "int32");
      const result = crossEntropy(z, y);
      assert.deepEqual(result.perPosition.shape, [2, 2]);
      assert.equal(result.loss.dataSync()[0], 0);
      tf.dispose([z, y, result.loss, result.perPosition, result.counted]);
    });

    it("builds no dense one-hot for value and gradient over a large vocabulary", async () => {
      const [positions, vocab] = [64, 4096];
      const logitsBytes = positions * vocab * 4; // one float32 [N, V] tensor
      const z = tf.randomNormal([positions, vocab], 0, 4, "float32", 12);
      const y = tf.tensor1d(Array.from({ length: positions }, (_, i) => (i * 977) % vocab), "int32");
      const before = tf.memory().numBytes;
      const profile = await tf.profile(() => {
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => crossEntropy(x, y).loss)(z);
        tf.dispose([value, grad]);
      });
      const kernels = profile.kernels.map((k) => k.name);
      assert.ok(!kernels.includes("OneHot"), kernels.join(","));
      // tfjs counts bytes per tensor, so reshape views and customGrad's input identity count as
      // [N, V] tensors too. Without a one-hot, these are alive at the peak: the input identity,
      // softmax (saved for backward), p·dy, the scatter-updated gradient and up to two views of
      // them: about 6 [N, V] tensors (the dense tf.losses.softmaxCrossEntropy path reaches 10).
      // A one-hot adds at least the one-hot itself, its float cast and its product with log p,
      // so it cannot stay under 8.
      const peakAbove = profile.peakBytes - before;
      assert.ok(peakAbove < 8 * logitsBytes, `peak ${(peakAbove / logitsBytes).toFixed(2)} [N, V] tensors`);
      tf.dispose([z, y]);
    });

    it("rejects labels outside the vocabulary and mismatched shapes", () => {
      const z = tf.tensor2d(randomMatrix(2, 5, 6));
      assert.throws(() => crossEntropy(z, tf.tensor1d([1, 5], "int32")), (e: Error) => e instanceof TokenlabError && /label 5/.test(e.message));
      assert.throws(() => crossEntropy(z, tf.tensor1d([1, 2, 3], "int32")), TokenlabError);
      z.dispose();
    });
  });

  it("AdamW matches torch.optim.AdamW over 3 steps with two groups, skipping a missing gradient", () => {
    const params = [randomMatrix(1, 6, 7)[0], randomMatrix(1, 4, 8)[0], randomMatrix(1, 3, 9)[0]];
    const grads = [0, 1, 2].map((step) => [
      randomMatrix(1, 6, 10 + step)[0],
      randomMatrix(1, 4, 20 + step)[0],
      step === 1 ? null : randomMatrix(1, 3, 30 + step)[0], // no gradient in step 1
    ]);
    const groups = [
      { params: [params[0], params[1]], lr: 0.01, weight_decay: 0.1 },
      { params: [params[2]], lr: 0.003, weight_decay: 0 },
    ];
    const expected = runPrimitiveReference<{ history: number[][][] }>({ op: "adamw", groups, grads, beta1: 0.9, beta2: 0.95, eps: 1e-8 });
    const variables = params.map((p, i) => tf.variable(tf.tensor1d(p), true, `adamw-test-${i}`));
    const optimizer = new AdamW(
      [
        { name: "a", params: [variables[0], variables[1]], learningRate: 0.01, weightDecay: 0.1 },
        { name: "b", params: [variables[2]], learningRate: 0.003, weightDecay: 0 },
      ],
      { beta1: 0.9, beta2: 0.95, epsilon: 1e-8 },
    );
    grads.forEach((stepGrads, step) => {
      const named: Record<string, tf.Tensor> = {};
      stepGrads.forEach((g, i) => g && (named[variables[i].name] = tf.tensor1d(g)));
      optimizer.step(named);
      tf.dispose(Object.values(named));
      variables.forEach((v, i) => assert.ok(relativeError(v.dataSync(), expected.history[step][i]) < 1e-5, `step ${step} param ${i}`));
    });
    optimizer.dispose();
    tf.dispose(variables);
  });

  it("AdamW with a gradient scale equals AdamW on the scaled gradients (torch's clip then step)", () => {
    const [p, g] = [randomMatrix(1, 9, 41)[0], randomMatrix(1, 9, 42)[0]];
    const expected = runPrimitiveReference<{ history: number[][][] }>({
      op: "adamw",
      groups: [{ params: [p], lr: 0.01, weight_decay: 0.1 }],
      grads: [[g.map((x) => x * 0.25)]],
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
    });
    const param = tf.variable(tf.tensor1d(p), true, "adamw-scale-test");
    const grad = tf.tensor1d(g);
    const optimizer = new AdamW([{ name: "all", params: [param], learningRate: 0.01, weightDecay: 0.1 }]);
    optimizer.step({ [param.name]: grad }, 0.25);
    assert.ok(relativeError(param.dataSync(), expected.history[0][0]) < 1e-5);
    tf.dispose([param, grad]);
  });

  it("AdamW keeps its moments out of the tensor heap: a step allocates only the new parameter value", async () => {
    // Moments as tensors took 2× the parameters of the (4 GB on wasm) heap, and the update's
    // intermediates ~12× the largest parameter at once; now the peak is one new value.
    const params = [tf.variable(tf.ones([300, 20]), true, "adamw.a"), tf.variable(tf.ones([40]), true, "adamw.b")];
    const grads = { "adamw.a": tf.onesLike(params[0]), "adamw.b": tf.onesLike(params[1]) };
    const optimizer = new AdamW([{ name: "all", params, learningRate: 0.1, weightDecay: 0.01 }]);
    const before = tf.memory();
    for (let step = 0; step < 2; step++) {
      const info = await tf.profile(() => optimizer.step(grads));
      assert.ok(info.peakBytes - before.numBytes <= 300 * 20 * 4, `step ${step}: peak ${info.peakBytes - before.numBytes} bytes above the start`);
      assert.equal(tf.memory().numTensors, before.numTensors, "no tensor kept per parameter");
      assert.equal(tf.memory().numBytes, before.numBytes, "no bytes kept per parameter");
    }
    assert.equal(optimizer.momentsOf(params[0])?.m.length, 6000);
    assert.notEqual(params[0].dataSync()[0], 1, "the parameter moved");
    optimizer.dispose();
    tf.dispose([...params, ...Object.values(grads)]);
  });

  it("AdamW.prepare names a parameter whose update would overflow and changes nothing until apply()", () => {
    const params = [tf.variable(tf.ones([4]), true, "adamw.finite"), tf.variable(tf.ones([4]), true, "adamw.overflow")];
    const grads = { "adamw.finite": tf.onesLike(params[0]), "adamw.overflow": tf.onesLike(params[1]) };
    const optimizer = new AdamW([
      { name: "ok", params: [params[0]], learningRate: 0.1, weightDecay: 0 },
      { name: "huge", params: [params[1]], learningRate: 1e39, weightDecay: 0 }, // beyond float32
    ]);
    const update = optimizer.prepare(grads);
    assert.deepEqual(update.nonFinite, [params[1]]);
    assert.deepEqual([...params[0].dataSync()], [1, 1, 1, 1], "nothing applied yet");
    assert.equal(optimizer.momentsOf(params[0]), undefined, "no moments before apply()");
    update.apply();
    assert.ok(params[0].dataSync()[0] < 1);
    assert.equal(optimizer.momentsOf(params[0])?.steps, 1);
    tf.dispose([...params, ...Object.values(grads)]);
  });

  it("clipGradients scales like torch's clip_grad_norm_ and reports group norms", () => {
    const grads = [randomMatrix(1, 5, 11)[0], randomMatrix(1, 3, 12)[0]];
    const expected = runPrimitiveReference<{ total_norm: number; grads: number[][] }>({ op: "clip", grads, max_norm: 0.5 });
    const named = { a: tf.tensor1d(grads[0]), b: tf.tensor1d(grads[1]) };
    const clipped = clipGradients(named, 0.5, { first: ["a"], both: ["a", "b"], none: [] });
    assert.ok(Math.abs(clipped.totalNorm - expected.total_norm) / expected.total_norm < 1e-6);
    assert.ok(relativeError(clipped.grads.a.dataSync(), expected.grads[0]) < 1e-6);
    assert.ok(relativeError(clipped.grads.b.dataSync(), expected.grads[1]) < 1e-6);
    const normA = Math.hypot(...grads[0]);
    assert.ok(Math.abs(clipped.groupNorms.first - normA) / normA < 1e-6);
    assert.ok(Math.abs(clipped.groupNorms.both - expected.total_norm) / expected.total_norm < 1e-6);
    assert.equal(clipped.groupNorms.none, 0);
    tf.dispose([...Object.values(named), ...Object.values(clipped.grads)]);
  });

  it("gradientNorms frees each gradient's square as it sums it (peak: one square, not all of them)", async () => {
    const grads = Object.fromEntries([0, 1, 2, 3].map((i) => [`g${i}`, tf.fill([100, 10], i + 1)]));
    const start = tf.memory().numBytes;
    let norms: ReturnType<typeof gradientNorms> | undefined;
    const info = await tf.profile(() => {
      norms = gradientNorms(grads, { low: ["g0", "g1"] });
    });
    assert.ok(info.peakBytes - start < 2 * 100 * 10 * 4, `peak ${info.peakBytes - start} bytes above the start`);
    assert.ok(Math.abs(norms!.totalNorm - Math.sqrt(1000 * (1 + 4 + 9 + 16))) < 1e-3);
    assert.ok(Math.abs(norms!.groupNorms.low - Math.sqrt(1000 * 5)) < 1e-3);
    assert.equal(tf.memory().numBytes, start);
    tf.dispose(Object.values(grads));
  });
});
