import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { compareInits } from "../../lib/analysis/compare-inits";
import { evaluate } from "../../lib/analysis/evaluate";
import { plotDrift } from "../../lib/analysis/plot-drift";
import { initBackend } from "../../lib/backend/init-backend";
import { prepareData } from "../../lib/data/prepare-data";
import { exportRecipe } from "../../lib/export/export-recipe";
import { bf16ToFloat32, float32ToBf16 } from "../../lib/hf/float-formats";
import type { CausalLM } from "../../lib/models/causal-lm";
import { loadModel, saveModel } from "../../lib/models/load-model";
import { gatherRows, isPacked } from "../../lib/models/packed-weights";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { addTokens } from "../../lib/tokens/add-tokens";
import type { AddTokensResult } from "../../lib/tokens/add-tokens-result";
import type { InitStrategy } from "../../lib/tokens/init-strategies";
import { initReport } from "../../lib/tokens/init-report";
import { readRunState, writeRunState } from "../../lib/train/run-state";
import { restoreRun, train } from "../../lib/train/train";
import type { TrainOptions } from "../../lib/train/train-options";
import { writeTinyCheckpoint, type TinyArchitecture } from "../fixtures/tiny-checkpoint";
import { bytesOf, disposeModels } from "../train/train-fixture";
import { relativeError } from "../reference/run-reference";

/** Every form of InitStrategy, a user function included. */
const STRATEGIES: Record<string, InitStrategy> = {
  random: "random",
  "random std": { random: { std: 0.05 } },
  zeros: "zeros",
  mean: "mean",
  "mvn-mean": "mvn-mean",
  "noisy-mean": "noisy-mean",
  from: { from: ["the fox", "dog"] },
  describe: { describe: "a small dog", noise: true },
  interpolate: { interpolate: { from: "the fox", alpha: 0.4 } },
  function: ({ matrix, baseTokenizer }) => tf.tidy(() => tf.mean(tf.gather(matrix, baseTokenizer.encode("sat with")), 0) as tf.Tensor1D),
};
const TOKENS = ["<fox>", "<dog>"];
/**
 * The variant that trains starts from copies of existing rows, bf16 values in both loads: the kept
 * load rounds new rows to bf16 and the float32 load does not, and AdamW's first steps (≈ lr · sign of
 * the gradient) would magnify that difference. So the two runs start from the same bits.
 */
const TRAINED_TOKENS = [
  { content: "<fox>", init: { from: " fox" } },
  { content: "<dog>", init: { from: " dog" } },
];
const EXAMPLES = Array.from({ length: 20 }, (_, i) => `where is the <fox> ${i % 5}? the <fox> sat with the <dog> ${i % 3}.`);
const TEXTS = EXAMPLES.slice(0, 4);
const PROBE = "the <fox> sat with the <dog> and the fox";
/** Each run by its label: the strategies, and a list of groups (the whole head, block 0's attention, the final norm). */
const TRAININGS: Array<[string, Pick<TrainOptions, "strategy" | "unfreeze">]> = [
  ["new-rows", { strategy: "new-rows" }],
  ["gradual", { strategy: "gradual", unfreeze: { every: 1 } }],
  ["full", { strategy: "full" }],
  ["groups", { strategy: ["embed.new", "head", "block.0.attn", "norm.final"] }],
];

/** What one flow measured, to compare the kept-16-bit load with the float32 load of the same checkpoint. */
interface FlowFigures {
  embedding: string;
  head: string | null;
  /** Tensors that are packed, and all tensors. */
  packed: string[];
  tensors: string[];
  baseLogits: Float32Array;
  newRows: Record<string, number[][]>;
  report: Record<string, number[]>;
  trainIds: number[][];
  runs: Record<
    string,
    {
      losses: number[];
      packed: string[];
      logits: Float32Array;
      greedy: number[];
      sampled: number[];
      topK: number[];
      evaluation: number[];
      drift: number[][];
      projection: number[];
    }
  >;
  comparison: Record<string, number[]>;
}

const bf16 = (value: number) => bf16ToFloat32(float32ToBf16(new Float32Array([value])))[0];
const packedNames = (model: CausalLM) => [...model.weights].filter(([, t]) => isPacked(t)).map(([name]) => name).sort();

/** Logits of every position of `ids` (one forward, no KV cache). */
function logitsOf(model: CausalLM, ids: number[]): Float32Array {
  const logits = (model as TransformerLM).logits([ids]);
  const values = logits.dataSync() as Float32Array;
  logits.dispose();
  return values;
}

/**
 * Equal up to float32 rounding: the model computes its added rows' logits as an overlay (a product
 * of its own), a saved and reloaded copy as part of one whole-matrix product, and a BLAS may sum
 * the two in different orders; the weights themselves are bit-identical (keep-bf16.test.ts).
 */
function assertRoundingEqual(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  const relative = relativeError(actual, expected);
  assert.ok(relative < 1e-6, `${what}: differs by ${relative} relative at most`);
}


function assertClose(actual: number, expected: number, relative: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected) + 1e-6, `${what}: ${actual} (kept 16-bit) vs ${expected} (float32)`);
}

/**
 * A researcher's whole flow on a BF16 checkpoint, loaded with loadModel(dir, {keepBf16}): every init
 * strategy, initReport, prepareData, training new rows, gradually and fully, generate, evaluate,
 * plotDrift, saveModel and reload, exportRecipe and compareInits. Checks along the way what holds for
 * either load; returns the figures the two loads must share.
 */
async function flow(dir: string, out: string, keepBf16: boolean): Promise<FlowFigures> {
  const tensorsBefore = tf.memory().numTensors;
  const base = await loadModel(dir, { keepBf16 });
  const probe = base.tokenizer.encode("the fox sat with the dog");
  const figures: FlowFigures = { embedding: base.layout.embedding, head: base.layout.head, packed: packedNames(base), tensors: [...base.weights.keys()], baseLogits: logitsOf(base, probe), newRows: {}, report: {}, trainIds: [], runs: {}, comparison: {} };
  const variants: Record<string, AddTokensResult> = {};
  let added: AddTokensResult | undefined;
  try {
    for (const [label, init] of Object.entries(STRATEGIES)) {
      const variant = (variants[label] = addTokens(base, TOKENS.map((content) => ({ content, init })), { seed: 5 }));
      for (const name of [base.layout.embedding, base.layout.head ?? base.layout.embedding]) {
        const matrix = variant.model.weights.get(name)!;
        assert.equal(isPacked(matrix), keepBf16, `${label}: ${name} grows as it was loaded`);
        figures.newRows[`${label} ${name}`] = tf.tidy(() => gatherRows(matrix, tf.tensor1d(variant.newIds, "int32")).arraySync() as number[][]);
      }
    }
    for (const row of initReport(base, variants, TEXTS).rows) {
      figures.report[row.variant] = [row.klMean, row.klMax, row.newMassMean, ...row.zeroRows];
    }

    added = addTokens(base, TRAINED_TOKENS);
    const extendedIds = added.model.tokenizer.encode(PROBE);
    const data = prepareData(added.model.tokenizer, EXAMPLES, { seqLen: 24, evalFraction: 0.2, seed: 1 });
    figures.trainIds = data.train.map((row) => [...row.inputIds]);
    for (const [strategy, extra] of TRAININGS) {
      const run = train(added, data, { ...extra, steps: 3, batchSize: 4, lr: 0.01, evalEvery: 3, display: false });
      const result = await run;
      try {
        assert.equal(result.status, "completed", `${strategy}: ${result.status}`);
        const model = result.model;
        const generateOptions = { maxNewTokens: 6, stop: [] };
        const greedy = await model.generate(PROBE, { ...generateOptions, temperature: 0 });
        const sampled = await model.generate(PROBE, { ...generateOptions, temperature: 1, seed: 3 });
        const topK = await model.generate(PROBE, { ...generateOptions, temperature: 0.8, topK: 4, seed: 4 });
        const metrics = evaluate(result, data, { base, plainText: ["the fox sat with the dog."] }).metrics;
        const logits = logitsOf(model, extendedIds);
        const drift = plotDrift(run);

        // The saved copy gives the same logits: up to rounding when saved as float32; as BF16 (the
        // checkpoint's dtype, saveModel's default) the float32 weights that trained round to bf16.
        const saved = path.join(out, `${strategy}-f32`);
        await saveModel(model, saved, { dtype: "F32" });
        const reloaded = await loadModel(saved, { keepBf16 });
        assertRoundingEqual(logitsOf(reloaded, extendedIds), logits, `${strategy}: saved as F32 and reloaded`);
        reloaded.dispose();
        await saveModel(model, path.join(out, strategy));
        const reloadedBf16 = await loadModel(path.join(out, strategy), { keepBf16 });
        assert.deepEqual(packedNames(reloadedBf16), figures.packed, `${strategy}: reloaded packed as the base was`);
        const bf16Logits = logitsOf(reloadedBf16, extendedIds);
        // Kept 16-bit, trained new rows are rounded to bf16 in the model already (model-rows.ts storableRows).
        if (strategy === "new-rows" && keepBf16) assertRoundingEqual(bf16Logits, logits, "saved as BF16 and reloaded");
        else assert.ok(relativeError(bf16Logits, logits) < 2e-2, `${strategy}: the BF16 copy drifts by ${relativeError(bf16Logits, logits)}`);
        reloadedBf16.dispose();

        // The recipe's checkpoint is the run's starting point (the model with the new tokens), as BF16:
        // equal when kept 16-bit (new rows are rounded to bf16 as they are added).
        const exported = await exportRecipe(run, path.join(out, `export-${strategy}`));
        assert.ok(exported.files.includes("llamafactory.yaml"));
        const exportedModel = await loadModel(path.join(out, `export-${strategy}`, "model"), { keepBf16 });
        const [exportedLogits, startLogits] = [logitsOf(exportedModel, extendedIds), logitsOf(added.model, extendedIds)];
        if (keepBf16) assertRoundingEqual(exportedLogits, startLogits, `${strategy}: exported checkpoint`);
        else assert.ok(relativeError(exportedLogits, startLogits) < 2e-2, `${strategy}: the exported checkpoint drifts by ${relativeError(exportedLogits, startLogits)}`);
        exportedModel.dispose();

        figures.runs[strategy] = {
          losses: result.history.map((r) => r.loss),
          packed: packedNames(model),
          logits,
          greedy: greedy.ids,
          sampled: sampled.ids,
          topK: topK.ids,
          evaluation: [metrics.loss, metrics.newTokenLoss, metrics.accuracy, metrics.klToBase, ...metrics.emissions.map((e) => e.f1)],
          drift: drift.series.flatMap((s) => [s.distance, s.cosine]),
          projection: drift.projection.data.flatMap((trace) => [...(trace.x as number[]), ...(trace.y as number[])]),
        };
      } finally {
        disposeModels(added.model, result.latest, result.best?.model);
        run.dispose();
      }
    }

    const comparison = await compareInits(base, TOKENS, { fox: { from: " fox" }, zeros: "zeros" }, EXAMPLES, { steps: 2, seeds: 1, batchSize: 4, seqLen: 24, lr: 0.01, display: false });
    for (const variant of comparison.variants) {
      figures.comparison[variant.name] = [...variant.smoothedNewTokenLoss, variant.evaluation.newTokenLoss];
      disposeModels(base, variant.added.model, variant.result.latest, variant.result.best?.model);
    }
    for (const row of comparison.initRows) figures.comparison[`${row.variant} init`] = [row.klMean, row.newMassMean];
  } finally {
    disposeModels(base, ...Object.values(variants).map((v) => v.model), added?.model);
    base.dispose();
  }
  assert.equal(tf.memory().numTensors, tensorsBefore, "the flow freed every tensor it made");
  return figures;
}

describe("the whole flow on a BF16 checkpoint kept 16-bit (loadModel keepBf16) matches the float32 load", function () {
  this.timeout(600_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-packed-flow-"));
  before(() => initBackend("wasm"));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("a stopped run resumes from its saved state bit-identically, the model loaded again kept 16-bit (tokenlab run --resume)", async () => {
    const dir = path.join(root, "resume");
    writeTinyCheckpoint(dir, { dtype: "BF16", tied: false, seed: 13 });
    // As `tokenlab run` does it: load, add tokens and prepare the data in each process.
    const setup = async () => {
      const base = await loadModel(dir, { keepBf16: true });
      const added = addTokens(base, TRAINED_TOKENS);
      return { base, added, data: prepareData(added.model.tokenizer, EXAMPLES, { seqLen: 24, evalFraction: 0.2, seed: 1 }) };
    };
    // Gradual with a stage opening after the stop: packed block weights widen on either side of it.
    const options: TrainOptions = { strategy: "gradual", steps: 6, batchSize: 4, unfreeze: { every: 2 }, evalEvery: 2, lr: 0.01, seed: 3, display: false };
    const first = await setup();
    const reference = train(first.added, first.data, options);
    const expected = await reference;
    const run = train(first.added, first.data, { ...options, onStep: (r) => r.step === 3 && run.stop() });
    const stopped = await run;
    assert.equal(stopped.steps, 3);
    writeRunState(path.join(root, "resume-state"), run.state());

    const second = await setup();
    const restored = restoreRun(second.added, second.data, options, readRunState(path.join(root, "resume-state")));
    disposeModels(second.added.model, restored.result?.latest, restored.result?.best?.model);
    const finished = await restored.resume();
    const withoutTime = (records: readonly { seconds: number }[]) => records.map(({ seconds: _, ...rest }) => rest);
    assert.deepEqual(withoutTime(finished.history), withoutTime(expected.history));
    assert.deepEqual(finished.evals, expected.evals);
    assert.deepEqual(packedNames(finished.model), packedNames(expected.model));
    assert.ok(packedNames(finished.model).length > 0);
    for (const [name, tensor] of expected.model.weights) {
      assert.ok(bytesOf(finished.model.weights.get(name)!).equals(bytesOf(tensor)), `${name} differs after the resume`);
    }
    for (const r of [reference, run, restored]) r.dispose();
    disposeModels(first.added.model, expected.latest, expected.best?.model, stopped.latest, stopped.best?.model);
    disposeModels(second.added.model, finished.latest, finished.best?.model);
    for (const { base, added } of [first, second]) {
      disposeModels(base, added.model);
      base.dispose();
    }
  });

  const cases: Array<{ architecture: TinyArchitecture; tied: boolean }> = [
    { architecture: "LlamaForCausalLM", tied: false },
    { architecture: "LlamaForCausalLM", tied: true },
    { architecture: "Qwen2ForCausalLM", tied: false }, // q/k/v biases
    { architecture: "Qwen3ForCausalLM", tied: true }, // q/k norms
    { architecture: "GPT2LMHeadModel", tied: true }, // Conv1D weights, a position table
  ];
  cases.forEach(({ architecture, tied }, i) => {
    describe(`${architecture}, ${tied ? "tied embeddings" : "untied head"}`, () => {
      let kept: FlowFigures;
      let float32: FlowFigures;
      before(async () => {
        const dir = path.join(root, `checkpoint-${i}`);
        writeTinyCheckpoint(dir, { architecture, dtype: "BF16", tied, seed: 11 + i });
        float32 = await flow(dir, path.join(root, `float32-${i}`), false);
        kept = await flow(dir, path.join(root, `kept-${i}`), true);
      });

      it("keeps the matrices 16-bit and computes the float32 load's logits", () => {
        assert.deepEqual(float32.packed, []);
        assert.ok(kept.packed.includes(kept.embedding), `${kept.packed}`);
        assert.equal(kept.head !== null && kept.packed.includes(kept.head), !tied);
        // Every nn.Linear weight of the blocks; GPT-2's Conv1D weights ([in, out] in the checkpoint) stay float32.
        const linear = kept.tensors.filter((name) => /\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.weight$/.test(name));
        const conv1d = kept.tensors.filter((name) => /\.(c_attn|c_proj|c_fc)\.weight$/.test(name));
        assert.equal(linear.length > 0, architecture !== "GPT2LMHeadModel");
        assert.deepEqual([...kept.packed].sort(), [kept.embedding, ...(tied ? [] : [kept.head!]), ...linear].sort());
        assert.equal(conv1d.length > 0, architecture === "GPT2LMHeadModel");
        assert.ok(relativeError(kept.baseLogits, float32.baseLogits) < 1e-5);
      });

      it("initializes new rows with every strategy as the float32 load does, rounded to bf16", () => {
        assert.deepEqual(Object.keys(kept.newRows), Object.keys(float32.newRows));
        for (const [key, rows] of Object.entries(float32.newRows)) {
          // One bf16 step of slack: a mean summed in another order can flip a rounding.
          rows.flat().forEach((value, j) => assertClose(kept.newRows[key].flat()[j], bf16(value), 2 ** -7, `${key} value ${j}`));
          kept.newRows[key].flat().forEach((value) => assert.equal(value, bf16(value), `${key}: ${value} is not a bf16 value`));
        }
        for (const [name, figures] of Object.entries(float32.report)) {
          figures.forEach((value, j) => assertClose(kept.report[name][j], value, 2e-2, `initReport ${name} figure ${j}`));
        }
      });

      it("prepares the same data and trains new rows, gradually and fully with the same losses", () => {
        assert.deepEqual(kept.trainIds, float32.trainIds);
        for (const [strategy] of TRAININGS) {
          const [k, f] = [kept.runs[strategy], float32.runs[strategy]];
          assert.equal(k.losses.length, 3);
          // Training itself computes in float32 from the same bits; only the trained rows' return
          // into the packed embedding rounds them to bf16 (2⁻⁹ relative), which the logits show.
          k.losses.forEach((loss, step) => assertClose(loss, f.losses[step], 1e-5, `${strategy} loss at step ${step}`));
          assert.ok(relativeError(k.logits, f.logits) < 5e-3, `${strategy}: trained logits differ by ${relativeError(k.logits, f.logits)}`);
        }
        // What trained whole is float32; the rest stays packed, shared with the base.
        assert.deepEqual(kept.runs["new-rows"].packed, kept.packed);
        assert.deepEqual(kept.runs.full.packed, []);
        // Groups trained the head whole (for a tied model: the embedding) and block 0's attention: float32 now.
        const groups = kept.runs.groups.packed;
        assert.deepEqual(groups, kept.packed.filter((name) => name !== (kept.head ?? kept.embedding) && !/\.layers\.0\.self_attn\./.test(name)));
        assert.ok(groups.some((name) => name.includes(".mlp.")) || architecture === "GPT2LMHeadModel", `${groups}`);
        // Gradual trained the new rows and the top block: its nn.Linear weights are float32 now.
        const gradual = kept.runs.gradual.packed;
        assert.ok(gradual.includes(kept.embedding) && gradual.every((name) => kept.packed.includes(name)), `${gradual}`);
        const lastBlock = kept.packed.filter((name) => name.includes(".layers.1."));
        assert.deepEqual(lastBlock.filter((name) => gradual.includes(name)), []);
        assert.equal(lastBlock.length > 0, architecture !== "GPT2LMHeadModel");
      });

      it("generates greedily and by sampling, evaluates and plots drift as the float32 load does", () => {
        for (const [strategy] of TRAININGS) {
          const [k, f] = [kept.runs[strategy], float32.runs[strategy]];
          assert.deepEqual(k.greedy, f.greedy, `${strategy} greedy`);
          assert.deepEqual(k.sampled, f.sampled, `${strategy} sampled`);
          assert.deepEqual(k.topK, f.topK, `${strategy} topK`);
          f.evaluation.forEach((value, j) => assertClose(k.evaluation[j], value, 2e-3, `${strategy} evaluation figure ${j}`));
          f.drift.flat().forEach((value, j) => assertClose(k.drift.flat()[j], value, 1e-3, `${strategy} drift value ${j}`));
          // The PCA of the base rows (the same bits in both loads) with the new tokens' paths through it.
          assert.equal(k.projection.length, f.projection.length);
          f.projection.forEach((value, j) => assertClose(k.projection[j], value, 1e-3, `${strategy} drift projection coordinate ${j}`));
        }
      });

      it("compares inits as the float32 load does", () => {
        assert.deepEqual(Object.keys(kept.comparison).sort(), Object.keys(float32.comparison).sort());
        for (const [name, values] of Object.entries(float32.comparison)) {
          values.forEach((value, j) => assertClose(kept.comparison[name][j], value, 2e-3, `compareInits ${name} figure ${j}`));
        }
      });
    });
  });
});
