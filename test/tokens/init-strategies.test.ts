import * as assert from "node:assert/strict";
import { Tokenizer } from "@anush008/tokenizers";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { HfTokenizer } from "../../lib/hf/tokenizer";
import { initRow, type InitContext, type InitStrategy, type NewToken } from "../../lib/tokens/init-strategies";
import { seededGaussian } from "../../lib/tokens/seeded-gaussian";
import { buildTinyTokenizer } from "../fixtures/tiny-tokenizer";
import { numpy } from "./numpy";

const HIDDEN = 8;
const PADDING = 3;
const TOKEN: NewToken = { content: "<sep>", id: -1, flags: { special: false, lstrip: false, rstrip: false, singleWord: false, normalized: true } };

describe("init strategies (each formula against numpy)", function () {
  this.timeout(60_000);
  const tiny = buildTinyTokenizer();
  const tokenizer = HfTokenizer.fromJson(tiny.tokenizerJson, tiny.tokenizerConfig);
  const rust = Tokenizer.fromString(JSON.stringify(tiny.tokenizerJson));
  const tokenRows = tokenizer.size;
  const normal = seededGaussian(7);
  // Token rows ~ N(0.3, 0.2²) per column offset; padding rows huge, so including them would show.
  const values = Array.from({ length: (tokenRows + PADDING) * HIDDEN }, (_, i) =>
    Math.floor(i / HIDDEN) >= tokenRows ? 1000 : 0.05 * (i % HIDDEN) + 0.2 * normal(),
  );
  const matrixRows: number[][] = Array.from({ length: tokenRows + PADDING }, (_, r) => values.slice(r * HIDDEN, (r + 1) * HIDDEN));
  let matrix: tf.Tensor2D;
  let head: tf.Tensor2D;

  before(async () => {
    await initBackend();
    matrix = tf.tensor2d(values, [tokenRows + PADDING, HIDDEN]);
    head = tf.mul(matrix, -2) as tf.Tensor2D;
  });
  after(() => tf.dispose([matrix, head]));

  const context = (seed = 1, role: "input" | "output" = "input"): InitContext => ({
    matrix: role === "input" ? matrix : head,
    role,
    embedding: matrix,
    head,
    tokenRows,
    baseTokenizer: tokenizer,
    initializerRange: 0.02,
    normal: seededGaussian(seed),
  });
  const row = (strategy: InitStrategy, ctx = context()): number[] => {
    const tensor = initRow(strategy, ctx, TOKEN);
    const out = Array.from(tensor.dataSync());
    tensor.dispose();
    return out;
  };
  const draws = (strategy: InitStrategy, count: number): number[][] => {
    const ctx = context(3);
    return Array.from({ length: count }, () => row(strategy, ctx));
  };
  const rustIds = async (text: string) => (await rust.encode(text, null, { addSpecialTokens: false })).getIds();
  const close = (actual: number[], expected: number[], tolerance = 1e-6) =>
    actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tolerance, `[${i}] ${v} vs ${expected[i]}`));

  it("mean = mean of the token rows, padding rows excluded", () => {
    const expected = numpy("result = np.array(data['m'])[:data['t']].mean(0).tolist()", { m: matrixRows, t: tokenRows });
    close(row("mean"), expected);
  });

  it("zeros is all zero", () => assert.deepEqual(row("zeros"), new Array(HIDDEN).fill(0)));

  it("from a text = mean of the rows of the pieces the Rust tokenizer makes of it; several texts = mean of their means", async () => {
    const texts = ["the fox", "-", "weather"];
    const ids = await Promise.all(texts.map(rustIds));
    assert.ok(ids[0].length > 1 && ids[2].length > 1, "multi-piece texts");
    const expected = numpy("m = np.array(data['m'])\nresult = np.mean([m[i].mean(0) for i in data['ids']], 0).tolist()", { m: matrixRows, ids });
    close(row({ from: texts }), expected);
    const single = numpy("result = np.array(data['m'])[data['ids']].mean(0).tolist()", { m: matrixRows, ids: ids[0] });
    close(row({ from: texts[0] }), single);
  });

  it("from on the output role reads the output matrix's own rows", async () => {
    const ids = await rustIds("the dog");
    const expected = numpy("result = np.array(data['m'])[data['ids']].mean(0).tolist()", { m: matrixRows.map((r) => r.map((v) => -2 * v)), ids });
    close(row({ from: "the dog" }, context(1, "output")), expected, 1e-5);
  });

  it("describe = mean over all pieces of the description (LLaMA-Factory desc_init)", async () => {
    const description = "the end of the river";
    const ids = await rustIds(description);
    const expected = numpy("result = np.array(data['m'])[data['ids']].mean(0).tolist()", { m: matrixRows, ids });
    close(row({ describe: description }), expected);
  });

  it("interpolate = (1−α)·mean + α·from", async () => {
    const ids = await rustIds("quick");
    const expected = numpy(
      "m = np.array(data['m'])\nresult = ((1 - 0.3) * m[:data['t']].mean(0) + 0.3 * m[data['ids']].mean(0)).tolist()",
      { m: matrixRows, t: tokenRows, ids },
    );
    close(row({ interpolate: { from: "quick", alpha: 0.3 } }), expected);
  });

  it("random ~ N(0, initializer_range²), std overridable, deterministic per seed", () => {
    const stats = (samples: number[][]) => numpy("x = np.array(data)\nresult = [float(x.mean()), float(x.std())]", samples);
    const [m, s] = stats(draws("random", 300));
    assert.ok(Math.abs(m) < 4 * (0.02 / Math.sqrt(2400)) && Math.abs(s / 0.02 - 1) < 0.06, `mean ${m} std ${s}`);
    const [, s2] = stats(draws({ random: { std: 0.5 } }, 300));
    assert.ok(Math.abs(s2 / 0.5 - 1) < 0.06, `std ${s2}`);
    assert.deepEqual(row("random", context(5)), row("random", context(5)));
    assert.notDeepEqual(row("random", context(5)), row("random", context(6)));
  });

  it("noisy-mean = mean + N(0, (1/√d)²) (LLaMA-Factory noise_init); describe+noise likewise", () => {
    for (const strategy of ["noisy-mean", { describe: "the fox", noise: true }] as InitStrategy[]) {
      const center = row(strategy === "noisy-mean" ? "mean" : { describe: "the fox" });
      const [m, s] = numpy("x = np.array(data['x']) - np.array(data['c'])\nresult = [float(x.mean()), float(x.std())]", {
        x: draws(strategy, 400),
        c: center,
      });
      const std = 1 / Math.sqrt(HIDDEN);
      assert.ok(Math.abs(m) < 4 * (std / Math.sqrt(3200)) && Math.abs(s / std - 1) < 0.06, `${JSON.stringify(strategy)}: mean ${m} std ${s}`);
    }
  });

  it("mvn-mean samples N(μ, 1e-9·Σ) of the token rows (HF mean_resizing): sample mean and covariance match numpy's μ and Σ", () => {
    const samples = draws("mvn-mean", 3000);
    const [meanError, covarianceError] = numpy(
      [
        "m = np.array(data['m'], dtype=np.float64)[:data['t']]",
        "mu = m.mean(0); c = m - mu; sigma = c.T @ c / len(m)",
        "x = np.array(data['x'], dtype=np.float64)",
        "emp = np.cov((x - mu).T, bias=True) * 1e9",
        "result = [float(np.abs(x.mean(0) - mu).max() / np.sqrt(1e-9 * np.diag(sigma)).max()), float(np.linalg.norm(emp - sigma) / np.linalg.norm(sigma))]",
      ].join("\n"),
      { m: matrixRows, t: tokenRows, x: samples },
    );
    assert.ok(meanError < 0.15, `sample mean off by ${meanError} noise standard deviations`);
    assert.ok(covarianceError < 0.1, `relative covariance error ${covarianceError}`);
    assert.deepEqual(row("mvn-mean", context(9)), row("mvn-mean", context(9)));
  });

  it("a user function gets the matrices, the base tokenizer and the token; its row is used and checked", () => {
    const seen: string[] = [];
    const fn = (args: Parameters<Extract<InitStrategy, Function>>[0]) => {
      seen.push(`${args.role} ${args.token.content} ${args.baseTokenizer.size} ${args.matrix === head}`);
      return tf.tidy(() => args.matrix.slice([2, 0], [1, HIDDEN]).reshape([HIDDEN]) as tf.Tensor1D);
    };
    close(row(fn, context(1, "output")), matrixRows[2].map((v) => -2 * v), 1e-6);
    assert.deepEqual(seen, [`output <sep> ${tokenRows} true`]);
    assert.throws(() => row(() => [1, 2]), /of 8 finite numbers; it returned 2 values/);
    assert.throws(() => row(() => new Array(HIDDEN).fill(NaN)), /finite numbers; it returned NaN at index 0/);
    // A function that forgets to return, returns a [1, hidden] tensor, or an Infinity in a tensor.
    assert.throws(() => row((() => undefined) as unknown as InitStrategy), /must return a tensor1d, Float32Array or number\[\] of 8 finite numbers; it returned undefined/);
    assert.throws(() => row(() => tf.zeros([1, HIDDEN]) as unknown as tf.Tensor1D), /it returned a tensor of shape \[1,8\]/);
    assert.throws(() => row(() => tf.fill([HIDDEN], Infinity) as tf.Tensor1D), /it returned Infinity at index 0/);
  });

  it("keeps tf.memory().numTensors flat", () => {
    const before = tf.memory().numTensors;
    for (const strategy of ["mean", "mvn-mean", "noisy-mean", "random", { from: ["a b", "c"] }, { interpolate: { from: "x", alpha: 0.5 } }] as InitStrategy[]) {
      row(strategy);
    }
    assert.equal(tf.memory().numTensors, before);
  });
});
