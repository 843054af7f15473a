import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import type { CausalLM } from "../../lib/models/causal-lm";
import { addTokens } from "../../lib/tokens/add-tokens";
import { initReport } from "../../lib/tokens/init-report";
import { HfTokenizer } from "../../lib/hf/tokenizer";
import { byteAlphabet, byteLevelBpeTokenizerJson, specialAddedToken } from "../../lib/hf/tokenizer-json-parts";
import { buildTinyTokenizer } from "../fixtures/tiny-tokenizer";
import { tinyModel } from "./tiny-model";
import { matrixRows } from "../../lib/models/model-rows";

const TEXTS = [
  "The quick brown fox jumps over the lazy dog.",
  "There is nothing in the world that the fox would rather do than talk about the weather.",
  "Rivers and trees.",
];
const NEW_TOKENS = ["<a>", "<b>", "<c>", "<d>"];

/** KL(base ‖ extended) and new-token mass per position, from the logits with plain float64 loops. */
function referenceStats(base: CausalLM, extended: CausalLM, newIds: number[]): { kl: number[]; mass: number[] } {
  const kl: number[] = [];
  const mass: number[] = [];
  for (const text of TEXTS) {
    const ids = base.tokenizer.encode(text);
    const [lb, le] = [base, extended].map((m) => {
      const t = m.logits([ids]);
      const values = (t.arraySync() as number[][][])[0];
      t.dispose();
      return values;
    });
    for (let p = 0; p < ids.length; p++) {
      const logZ = (row: number[]) => {
        const max = Math.max(...row);
        return max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      };
      const [zb, ze] = [logZ(lb[p]), logZ(le[p])];
      let k = 0;
      for (let i = 0; i < lb[p].length; i++) {
        const logPb = lb[p][i] - zb;
        k += Math.exp(logPb) * (logPb - (le[p][i] - ze));
      }
      kl.push(k);
      mass.push(newIds.reduce((s, id) => s + Math.exp(le[p][id] - ze), 0));
    }
  }
  return { kl, mass };
}

const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe("initReport (Hewitt's diagnostics)", function () {
  this.timeout(120_000);

  it("mean init keeps KL(base ‖ extended) ≤ log(1 + n/V) at every position; the report's numbers match a float64 recomputation", async () => {
    // No padding rows: every base row is a token, as in Hewitt's setting.
    const V = buildTinyTokenizer().size;
    const { model: base, remove } = await tinyModel({ tied: false, vocabSize: V, seed: 5 });
    try {
      const variants = Object.fromEntries(
        (["mean", "zeros", "random", "mvn-mean"] as const).map((init) => [init, addTokens(base, NEW_TOKENS, { init, seed: 2 })]),
      );
      // One new token whose row is an exact copy of an existing token's row, as {from} intends.
      const copied = addTokens(base, NEW_TOKENS[0], { init: { from: "a" } });
      const [aId] = base.tokenizer.encode("a");
      const rowOf = (model: CausalLM, id: number) => Array.from(tf.tidy(() => matrixRows(model, model.layout.embedding, [id]).dataSync()));
      assert.deepEqual(rowOf(copied.model, copied.newIds[0]), rowOf(base, aId));
      variants['from "a"'] = copied;
      const tensors = tf.memory().numTensors;
      const report = initReport(base, variants, TEXTS);
      assert.equal(tf.memory().numTensors, tensors, "initReport leaves no tensors behind");
      const mean = report.rows.find((r) => r.variant === "mean")!;
      assert.deepEqual(mean.newIds, [V, V + 1, V + 2, V + 3]);
      assert.equal(mean.klBound, Math.log(1 + 4 / V));
      assert.ok(mean.klMax <= mean.klBound + 1e-6, `KL max ${mean.klMax} > bound ${mean.klBound}`);
      for (const row of report.rows) {
        const reference = referenceStats(base, variants[row.variant].model, row.newIds);
        assert.equal(row.positions, reference.kl.length);
        assert.ok(Math.abs(row.klMean - average(reference.kl)) < 1e-5, `${row.variant} KL ${row.klMean} vs ${average(reference.kl)}`);
        assert.ok(Math.abs(row.klMax - Math.max(...reference.kl)) < 1e-5);
        assert.ok(Math.abs(row.newMassMean - average(reference.mass)) < 1e-5, `${row.variant} mass`);
      }
      const zeros = report.rows.find((r) => r.variant === "zeros")!;
      assert.deepEqual(zeros.zeroRows, zeros.newIds, "zeros init rows are flagged as untrained");
      assert.deepEqual(mean.duplicatedNewRows, mean.newIds, "identical mean rows are flagged");
      assert.deepEqual(report.rows.find((r) => r.variant === "random")!.duplicatedNewRows, []);
      assert.deepEqual(report.rows.find((r) => r.variant === 'from "a"')!.duplicatedNewRows, [], "a copy of an existing row is intended, not untrained");
      const plain = report[JUPYTER_DISPLAY]()["text/plain"] as string;
      assert.match(plain, /mvn-mean/);
      assert.match(plain, /log\(1\+n\/V\)/);
      for (const v of Object.values(variants)) (v.model as typeof base).dispose([base.weights]);
    } finally {
      base.dispose();
      remove();
    }
  });

  it("zeros on a model with large negative logits puts most of the mass on the new tokens; mean does not", async () => {
    const { model, checkpoint, remove } = await tinyModel({ architecture: "GPT2LMHeadModel", tied: true });
    try {
      // Final LayerNorm output ≈ 10·e₀ (tiny scale, bias on dim 0), and every token row has −3 in dim 0:
      // each logit ≈ −30, as in Hewitt's observation about pretrained models.
      const hidden = model.config.hiddenSize;
      const T = checkpoint.tokenizerSize;
      const rows = model.weights.get("transformer.wte.weight")!.shape[0];
      const column0 = tf.oneHot(tf.zeros([rows], "int32") as tf.Tensor1D, hidden) as tf.Tensor2D; // [rows, hidden], 1 in dim 0
      const weights = new Map(model.weights);
      weights.set("transformer.ln_f.weight", tf.fill([hidden], 0.01));
      weights.set("transformer.ln_f.bias", tf.oneHot(tf.tensor1d([0], "int32"), hidden).reshape([hidden]).mul(10));
      weights.set("transformer.wte.weight", tf.tidy(() => tf.add(tf.mul(model.weights.get("transformer.wte.weight")!, tf.sub(1, column0)), tf.mul(column0, -3))));
      column0.dispose();
      const negative = model.withChanges({ weights });
      const probe = negative.logits([negative.tokenizer.encode(TEXTS[0])]);
      assert.ok(probe.max().dataSync()[0] < -20, "constructed model has large negative logits");
      probe.dispose();

      const zeros = addTokens(negative, NEW_TOKENS, { init: "zeros" });
      const mean = addTokens(negative, NEW_TOKENS, { init: "mean" });
      const report = initReport(negative, { zeros, mean }, TEXTS);
      const [z, m] = report.rows;
      assert.ok(z.newMassMean > 0.9, `zeros: mass on new tokens ${z.newMassMean}`);
      assert.ok(m.newMassMean < 4 / T, `mean: mass on new tokens ${m.newMassMean}`);
      assert.ok(m.klMax <= m.klBound + 1e-6);
      assert.ok(z.klMean > 1, `zeros moves the distribution: KL ${z.klMean}`);
      for (const r of [zeros, mean]) (r.model as typeof model).dispose([negative.weights]);
      (negative as typeof model).dispose([model.weights]);
    } finally {
      model.dispose();
      remove();
    }
  });

  it("tokenizer size is the highest id + 1 (gaps and added tokens included); addTokens leaves the base's size alone", async () => {
    const vocab = Object.fromEntries(byteAlphabet().map((symbol, id) => [symbol, id]));
    const gapped = HfTokenizer.fromJson(
      byteLevelBpeTokenizerJson({ vocab, merges: [], addedTokens: [specialAddedToken(1000, "<|far|>")], prefixSpaceAfterPreTokenizing: false }),
    );
    assert.equal(gapped.idToToken(999), undefined);
    assert.equal(gapped.size, 1001);

    const V = buildTinyTokenizer().size;
    const { model: base, remove } = await tinyModel({ tied: false, vocabSize: V, seed: 5 });
    try {
      const extended = addTokens(base, NEW_TOKENS, { init: "mean" });
      assert.equal(base.tokenizer.size, V);
      assert.equal(extended.model.tokenizer.size, V + NEW_TOKENS.length);
      assert.deepEqual(initReport(base, extended, TEXTS).rows[0].newIds, extended.newIds);
      (extended.model as typeof base).dispose([base.weights]);
    } finally {
      base.dispose();
      remove();
    }
  });
});
