/**
 * Child process of the real-size benchmark: runs tokenlab's steps on one checkpoint and prints one
 * JSON line per step on stdout, so the parent keeps every figure measured before a crash (a wasm
 * abort ends this process, not the benchmark).
 *
 *   node --import tsx bench/scale/shape-steps.ts JOB.json
 *
 * JOB.json: {dir, saveDir, steps, batch: {inputIds, labels}, newTokens, expectedNewIds, text}. "load"
 * and "addTokens" always run first (every other step needs the extended model); then `steps` in
 * order, until one fails. A line: {step, seconds?, runs_s?, error?, peak_rss_mb, ...}. The steps
 * after "save" are the rest of the user flow (flow-steps.ts).
 */
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import { loadModel, saveModel } from "../../lib/models/load-model";
import type { KeepBf16 } from "../../lib/models/keep-bf16";
import { isPacked } from "../../lib/models/packed-weights";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { addTokens } from "../../lib/tokens/add-tokens";
import type { AddTokensResult } from "../../lib/tokens/add-tokens-result";
import { train } from "../../lib/train/train";
import type { TrainOptions } from "../../lib/train/train-options";
import type { TrainingData } from "../../lib/data/prepare-data";
import type { Run, TrainResult } from "../../lib/train/run";
import { disposeVariant, flowSteps } from "./flow-steps";
import type { StepName } from "./step-names";
import { vocabRows } from "../../lib/models/model-rows";
import { waitForTensor } from "../wait-for-tensor";

export interface ShapeJob {
  dir: string;
  saveDir: string;
  steps: StepName[];
  batch: { inputIds: number[]; labels: number[] };
  newTokens: string[];
  expectedNewIds: number[];
  /** The text the batch was tokenized from (the flow's data is made from it too). */
  text: string;
  /** loadModel's keepBf16 (default "auto"). */
  keepBf16?: KeepBf16;
}

/** Repetitions of forward and of training steps; the figure is the fastest (the first warms up). */
const RUNS = 2;

function report(step: StepName, fields: Record<string, unknown>): void {
  const peak = Math.round(process.resourceUsage().maxRSS / 1024); // maxRSS is in KiB
  process.stdout.write(JSON.stringify({ step, ...fields, peak_rss_mb: peak }) + "\n");
}

function seconds(start: number): number {
  return Number(((performance.now() - start) / 1000).toFixed(3));
}

function timedRuns(runs: number[]): { seconds: number; runs_s: number[] } {
  return { seconds: Math.min(...runs), runs_s: runs };
}

const TRAIN_OPTIONS: TrainOptions = { batchSize: 1, display: false, driftEvery: 0 };

/** A training run of RUNS steps and its per-step seconds (the run's records are cumulative). */
async function trainSteps(result: AddTokensResult, data: TrainingData, options: TrainOptions): Promise<{ run: Run; trained: TrainResult; runs: number[] }> {
  const cumulative: number[] = [];
  const run = train(result, data, { ...TRAIN_OPTIONS, ...options, steps: RUNS, onStep: (r) => cumulative.push(r.seconds) });
  const trained = await run;
  return { run, trained, runs: cumulative.map((s, i) => Number((s - (cumulative[i - 1] ?? 0)).toFixed(3))) };
}

/** Frees what a run trained (frozen tensors stay: they are the extended model's). */
function disposeRun(result: AddTokensResult, { run, trained }: { run: Run; trained: TrainResult }): void {
  for (const model of [trained.model, trained.latest]) disposeVariant(model, [result.model]);
  run.dispose();
}

async function main(): Promise<void> {
  const job: ShapeJob = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  let start = performance.now();
  let base: TransformerLM;
  try {
    base = await loadModel(job.dir, { keepBf16: job.keepBf16 ?? "auto" });
  } catch (error) {
    report("load", { error: String(error) });
    return;
  }
  report("load", { seconds: seconds(start), kept_bf16: isPacked(base.weights.get(base.layout.embedding)!) });

  start = performance.now();
  let result: AddTokensResult;
  try {
    result = addTokens(base, job.newTokens);
  } catch (error) {
    report("addTokens", { error: String(error) });
    return;
  }
  const elapsed = seconds(start);
  if (JSON.stringify(result.newIds) !== JSON.stringify(job.expectedNewIds)) {
    report("addTokens", { error: `new ids ${result.newIds} differ from the ${job.expectedNewIds} the batch was built with` });
    return;
  }
  report("addTokens", { seconds: elapsed, new_ids: result.newIds, rows: vocabRows(result.model) });

  const { inputIds, labels } = job.batch;
  const data: TrainingData = { train: [{ inputIds, labels, attentionMask: inputIds.map(() => 1) }], eval: [], seqLen: inputIds.length };
  // The new-rows run stays alive: the flow generates with, evaluates, plots and saves its model.
  let newRows: { run: Run; trained: TrainResult; runs: number[] } | undefined;
  const newRowsRun = async () => (newRows ??= await trainSteps(result, data, { strategy: "new-rows" }));
  const release = () => {
    if (newRows) disposeRun(result, newRows);
    disposeVariant(result.model, [base]);
    base.dispose();
  };
  const steps: Record<Exclude<StepName, "load" | "addTokens">, () => Promise<Record<string, unknown>>> = {
    ...flowSteps({ base, result, text: job.text, newTokens: job.newTokens, saveDir: job.saveDir, newRowsRun, trainOptions: TRAIN_OPTIONS, release }),
    forward: async () => {
      const ids = tf.tensor2d([inputIds], undefined, "int32");
      const runs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const begin = performance.now();
        tf.tidy(() => waitForTensor(result.model.forward(result.model.weights, ids)));
        runs.push(seconds(begin));
      }
      ids.dispose();
      return timedRuns(runs);
    },
    newRowsStep: async () => timedRuns((await newRowsRun()).runs),
    // Step 1 trains the new rows; unfreezing every step opens the top block (+ final norm) for step 2.
    gradualStep: async () => {
      const gradual = await trainSteps(result, data, { strategy: "gradual", unfreeze: { every: 1 } });
      disposeRun(result, gradual);
      const runs = gradual.runs;
      return { seconds: runs[runs.length - 1], runs_s: runs, note: "last step: new rows + top block unfrozen" };
    },
    save: async () => {
      const begin = performance.now();
      await saveModel(result.model, job.saveDir);
      const elapsedSave = seconds(begin);
      fs.rmSync(job.saveDir, { recursive: true, force: true }); // gigabytes the cache does not need
      return { seconds: elapsedSave };
    },
  };
  for (const step of job.steps) {
    if (step === "load" || step === "addTokens") continue;
    try {
      report(step, await steps[step]());
    } catch (error) {
      // A wasm out-of-memory leaves the module's heap unusable: the parent resumes in a fresh process.
      report(step, { error: String(error) });
      return;
    }
  }
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
