/**
 * The issue's whole user flow on one real-size checkpoint, one step at a time (run by
 * shape-steps.ts): every init strategy, initReport, prepareData, gradual and full fine-tuning,
 * generate (greedy and sampled), evaluate, plotDrift, save and a reload whose logits must equal the
 * saved model's. Each step builds what it needs lazily (a resumed child after a crash has none of
 * the earlier steps' results), so any subset of steps runs in any fresh process.
 */
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import { plotDrift } from "../../lib/analysis/plot-drift";
import { evaluate } from "../../lib/analysis/evaluate";
import { prepareData, type TrainingData } from "../../lib/data/prepare-data";
import { loadModel, saveModel } from "../../lib/models/load-model";
import type { CausalLM } from "../../lib/models/causal-lm";
import { isPacked } from "../../lib/models/packed-weights";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { addTokens } from "../../lib/tokens/add-tokens";
import type { AddTokensResult } from "../../lib/tokens/add-tokens-result";
import { initReport } from "../../lib/tokens/init-report";
import type { InitStrategy } from "../../lib/tokens/init-strategies";
import { train } from "../../lib/train/train";
import type { Run, TrainResult } from "../../lib/train/run";
import type { TrainOptions } from "../../lib/train/train-options";
import type { FlowStep } from "./step-names";
import { modelTensors } from "../../lib/models/model-rows";

/** Every form of InitStrategy (lib/tokens/init-strategies.ts), a user function included. */
const STRATEGIES: Record<string, InitStrategy> = {
  random: "random",
  "random std": { random: { std: 0.01 } },
  zeros: "zeros",
  mean: "mean",
  "mvn-mean": "mvn-mean",
  "noisy-mean": "noisy-mean",
  from: { from: ["think", "reason"] },
  describe: { describe: "a marker where the model starts thinking" },
  "describe + noise": { describe: "a separator between parts", noise: true },
  interpolate: { interpolate: { from: "tool", alpha: 0.3 } },
  function: ({ matrix }) => tf.tidy(() => tf.reshape(tf.slice(matrix, [0, 0], [1, -1]), [-1]) as tf.Tensor1D),
};

/** Reference text for initReport and plain text for evaluate (forgetting, KL to the base). */
const PLAIN =
  "The committee met on Tuesday to review the budget. Several members asked why travel costs had risen, " +
  "and the treasurer promised a detailed account at the next meeting.";

/**
 * The dtype the model computes with, so that the copy loads into the same storage and computes its
 * logits the same way (then they must be equal, not merely close). A float32 model saves F32: the
 * default (the checkpoint's BF16) would round its trained new rows. A model kept 16-bit saves BF16:
 * its new rows are bf16 already, and an F32 copy would load float32 and multiply along another path.
 */
function saveOptions(model: CausalLM): { dtype: "F32" | "BF16" } {
  return { dtype: isPacked(model.weights.get(model.layout.embedding)!) ? "BF16" : "F32" };
}

export interface FlowContext {
  base: TransformerLM;
  /** The extended model (mean init) every later step starts from. */
  result: AddTokensResult;
  /** The text the bench's batch is tokenized from. */
  text: string;
  newTokens: string[];
  saveDir: string;
  /** The new-rows run (drift recorded at its start and end); run here when no earlier step did. */
  newRowsRun: () => Promise<{ run: Run; trained: TrainResult }>;
  /** Batch size 1, no live display, no drift checkpoints between steps. */
  trainOptions: TrainOptions;
  /** Frees every model of the flow (base, extended, trained): for the last step, reload. */
  release: () => void;
}

/** Frees the tensors of `model` that the base and the extended model do not share. */
export function disposeVariant(model: CausalLM, keep: readonly CausalLM[]): void {
  const shared = new Set(keep.flatMap(modelTensors));
  for (const t of modelTensors(model)) if (!shared.has(t) && !t.isDisposed) t.dispose();
}

function seconds(start: number): number {
  return Number(((performance.now() - start) / 1000).toFixed(3));
}

/** The flow's steps; each returns its figures (seconds and what shows it did the work). */
export function flowSteps(context: FlowContext): Record<FlowStep, () => Promise<Record<string, unknown>>> {
  const { base, result } = context;
  let data: TrainingData | undefined;
  const prepared = () => {
    // Paragraphs with the new tokens in them, packed into rows of 256 (the bench's batch length).
    const examples = Array.from({ length: 12 }, (_, i) =>
      [0, 1, 2].map((j) => `${context.newTokens[(i + j) % context.newTokens.length]} ${context.text}`).join(""),
    );
    data ??= prepareData(result.model.tokenizer, examples, { seqLen: 256, evalFraction: 0.25 });
    return data;
  };
  let saved: CausalLM | undefined;
  return {
    initStrategies: async () => {
      const each: Record<string, number> = {};
      for (const [name, init] of Object.entries(STRATEGIES)) {
        const begin = performance.now();
        const variant = addTokens(base, context.newTokens, { init });
        each[name] = seconds(begin);
        disposeVariant(variant.model, [base]);
      }
      return { seconds: Object.values(each).reduce((a, b) => a + b, 0), each_s: each };
    },
    initReport: async () => {
      const begin = performance.now();
      const report = initReport(base, { mean: result }, [PLAIN, `${context.newTokens[0]} ${context.text}`]);
      const row = report.rows[0];
      return { seconds: seconds(begin), positions: row.positions, kl_mean: row.klMean, new_mass_mean: row.newMassMean, zero_rows: row.zeroRows.length };
    },
    prepareData: async () => {
      const begin = performance.now();
      data = undefined;
      const rows = prepared();
      return { seconds: seconds(begin), train_rows: rows.train.length, eval_rows: rows.eval.length };
    },
    fullStep: async () => {
      const begin = performance.now();
      // No eval rows: the step is what is measured (evaluate has its own step).
      const run = train(result, { ...prepared(), eval: [] }, { ...context.trainOptions, strategy: "full", steps: 1 });
      const trained = await run;
      const elapsed = seconds(begin);
      const loss = trained.history[0]?.loss;
      disposeVariant(trained.latest, [base, result.model]);
      disposeVariant(trained.model, [base, result.model]);
      run.dispose();
      if (trained.status !== "completed") throw new Error(`full fine-tuning ${trained.status}`);
      return { seconds: elapsed, loss };
    },
    generateGreedy: async () => {
      const { trained } = await context.newRowsRun();
      const begin = performance.now();
      const out = await trained.model.generate(`${context.newTokens[0]} Researchers add`, { maxNewTokens: 8 });
      return { seconds: seconds(begin), new_tokens: out.ids.length };
    },
    generateSampled: async () => {
      const { trained } = await context.newRowsRun();
      const begin = performance.now();
      const out = await trained.model.generate(`${context.newTokens[0]} Researchers add`, { maxNewTokens: 8, temperature: 0.8, seed: 1 });
      return { seconds: seconds(begin), new_tokens: out.ids.length };
    },
    evaluate: async () => {
      const { trained } = await context.newRowsRun();
      const rows = prepared();
      const begin = performance.now();
      const report = evaluate(trained, rows, { base, plainText: [PLAIN] });
      const m = report.metrics;
      return { seconds: seconds(begin), new_token_loss: m.newTokenLoss, loss: m.loss, perplexity: m.plainTextPerplexity, kl_to_base: m.klToBase };
    },
    plotDrift: async () => {
      const { run } = await context.newRowsRun();
      const begin = performance.now();
      const report = plotDrift(run);
      return { seconds: seconds(begin), checkpoints: run.drift.checkpoints.length, series: report.series.length };
    },
    saveFlow: async () => {
      const { trained } = await context.newRowsRun();
      const begin = performance.now();
      await saveModel(trained.model, context.saveDir, saveOptions(trained.model));
      saved = trained.model;
      return { seconds: seconds(begin) };
    },
    reload: async () => {
      const model = saved ?? (await context.newRowsRun()).trained.model;
      if (saved === undefined) await saveModel(model, context.saveDir, saveOptions(model));
      // A short prompt: two [1, L, vocab] logits, compared element by element.
      const ids = model.tokenizer.encode(`${context.newTokens[1]} ${PLAIN}`).slice(0, 32);
      const logitsOf = (m: CausalLM) => {
        const logits = m.logits([ids]);
        const values = (logits.dataSync() as Float32Array).slice();
        logits.dispose();
        return values;
      };
      const expected = logitsOf(model);
      // At 1.2B two models do not fit one 4 GB wasm heap: the copy loads once the flow's models are gone.
      context.release();
      const begin = performance.now();
      const copy = await loadModel(context.saveDir);
      const elapsed = seconds(begin);
      try {
        const actual = logitsOf(copy);
        let maxDiff = 0;
        let scale = 0;
        for (let i = 0; i < expected.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
          scale = Math.max(scale, Math.abs(expected[i]));
        }
        // Up to float32 rounding: the model computes its added rows as an overlay product, the copy within one matrix.
        if (actual.length !== expected.length || !(maxDiff <= 1e-6 * scale)) {
          throw new Error(`reloaded logits differ: ${actual.length} vs ${expected.length} values, max |Δ| ${maxDiff} of max |logit| ${scale}`);
        }
        return { seconds: elapsed, logits_compared: expected.length, max_abs_diff: maxDiff, max_abs_logit: scale };
      } finally {
        copy.dispose();
        fs.rmSync(context.saveDir, { recursive: true, force: true }); // gigabytes the cache does not need
      }
    },
  };
}
