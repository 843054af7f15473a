/**
 * `npm run bench`: tokenlab against PyTorch eager on the same weights, batch and loss, in one run.
 * Model: Llama-style, d_model 256, 4 layers, 4 heads, vocab 8192, tied; batch 8 × 128 tokens.
 * Prints one JSON object: forward and train-step medians (forward + cross-entropy + backward +
 * AdamW) and tokens/s of tokenlab (wasm, one thread) and of PyTorch at one thread and at all cores;
 * the ratios (torch ms / tokenlab ms) are against PyTorch's faster setting, and only when PyTorch
 * runs on an optimized BLAS (see ratioRefusal). Measurements alternate between tokenlab and the
 * resident PyTorch processes, so load from other processes hits all alike.
 * `npm run bench -- --scale [--shape NAME]` runs the real-size benchmark instead (scale/scale-bench.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { backend, initBackend } from "../lib/backend/init-backend";
import { nativeBlasStatus } from "../lib/backend/native-blas";
import { loadModel } from "../lib/models/load-model";
import { AdamW } from "../lib/train/adamw";
import { crossEntropy } from "../lib/train/cross-entropy";
import { waitForTensor } from "./wait-for-tensor";
import { writeTinyCheckpoint } from "../test/fixtures/tiny-checkpoint";
import { ratioRefusal, startTorch, torchThreadSettings } from "./torch-process";
import { runScaleBench } from "./scale/scale-bench";

const BATCH = 8;
const SEQUENCE = 128;
const VOCAB = 8192;
const WARMUP = 1;
const STEPS = Number(process.env.BENCH_STEPS ?? 3);

/** Threads tokenlab's matrix products use: the native BLAS's, else the single wasm thread. */
function matmulThreads(): number {
  const status = nativeBlasStatus();
  return status.active ? status.threads : 1;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-bench-"));
  try {
    writeTinyCheckpoint(dir, {
      architecture: "LlamaForCausalLM",
      hiddenSize: 256,
      numLayers: 4,
      numHeads: 4,
      numKeyValueHeads: 4,
      intermediateSize: 1024,
      vocabSize: VOCAB,
      weightStd: 0.02,
      seed: 7,
    });
    // A deterministic pseudo-random batch; labels are the next tokens.
    const stream = Array.from({ length: BATCH * (SEQUENCE + 1) }, (_, i) => (i * 2654435761) % VOCAB);
    const rows = (offset: number) =>
      Array.from({ length: BATCH }, (_, b) => stream.slice(b * (SEQUENCE + 1) + offset, b * (SEQUENCE + 1) + offset + SEQUENCE));
    const ids = rows(0);
    const labels = rows(1);

    const tokenlab = await tokenlabRunner(dir, ids, labels);
    const torches = [];
    for (const threads of torchThreadSettings()) torches.push(await startTorch({ dir, ids, labels }, threads));
    const times = { tokenlabForward: [] as number[], tokenlabStep: [] as number[] };
    const torchTimes = torches.map(() => ({ forward: [] as number[], step: [] as number[], loss: [] as number[] }));
    const losses: number[] = [];
    for (let i = 0; i < WARMUP + STEPS; i++) {
      const measured = i >= WARMUP;
      const tokenlabForward = tokenlab.forward();
      const torchForward = [];
      for (const torch of torches) torchForward.push((await torch.ask("forward")).ms);
      const tokenlabStep = tokenlab.step();
      const torchStep = [];
      for (const torch of torches) torchStep.push(await torch.ask("step"));
      losses.push(tokenlabStep.loss);
      torchStep.forEach((step, t) => torchTimes[t].loss.push(step.loss!));
      if (!measured) continue;
      times.tokenlabForward.push(tokenlabForward);
      times.tokenlabStep.push(tokenlabStep.ms);
      torchForward.forEach((ms, t) => torchTimes[t].forward.push(ms));
      torchStep.forEach((step, t) => torchTimes[t].step.push(step.ms));
    }
    torches.forEach((torch) => torch.close());
    tokenlab.dispose();
    const tokens = BATCH * SEQUENCE;
    const side = (forward: number[], step: number[], loss: number[]) => ({
      forward_ms: round(median(forward)),
      train_step_ms: round(median(step)),
      tokens_per_s: round((tokens / median(step)) * 1000),
      first_loss: round(loss[0], 5),
    });
    const torchSides = Object.fromEntries(
      torches.map((torch, t) => [
        `${torch.info.threads}_threads`,
        { ...side(torchTimes[t].forward, torchTimes[t].step, torchTimes[t].loss), matmul_gflops: torch.info.blas.matmul_gflops },
      ]),
    );
    const bestForward = Math.min(...torchTimes.map((t) => median(t.forward)));
    const bestStep = Math.min(...torchTimes.map((t) => median(t.step)));
    const blas = torches[0].info.blas;
    const refusal = ratioRefusal(blas);
    const result = {
      model: { architecture: "LlamaForCausalLM", d_model: 256, layers: 4, heads: 4, vocab: VOCAB, tied: true },
      batch: [BATCH, SEQUENCE],
      steps_measured: STEPS,
      backend: backend(),
      // Matrix products in the native BLAS use its threads; every other op runs on one wasm thread.
      tokenlab_matmul: nativeBlasStatus(),
      threads: { tokenlab: matmulThreads(), torch: torches.map((t) => t.info.threads) },
      torch_version: torches[0].info.torch_version,
      torch_blas: { kind: blas.kind, libraries: blas.libraries, build_blas_info: blas.build_blas_info },
      load_average: os.loadavg().map((l) => Number(l.toFixed(2))),
      tokenlab: side(times.tokenlabForward, times.tokenlabStep, losses),
      torch: torchSides,
      ...(refusal === undefined
        ? {
            forward_ratio: round(bestForward / median(times.tokenlabForward), 3),
            train_ratio: round(bestStep / median(times.tokenlabStep), 3),
          }
        : { ratio_refused: refusal }),
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** tokenlab's side: forward and training step (all weights as variables, AdamW) on the same batch. */
async function tokenlabRunner(dir: string, ids: number[][], labels: number[][]) {
  const model = await loadModel(dir);
  const variables = new Map([...model.weights].map(([n, w]) => [n, tf.variable(w, true, n)]));
  const optimizer = new AdamW([{ name: "all", params: [...variables.values()], learningRate: 1e-4, weightDecay: 0.01 }]);
  const idTensor = tf.tensor2d(ids, undefined, "int32");
  const labelTensor = tf.tensor2d(labels, undefined, "int32");
  return {
    forward(): number {
      const start = performance.now();
      tf.tidy(() => waitForTensor(model.forward(variables, idTensor)));
      return performance.now() - start;
    },
    step(): { ms: number; loss: number } {
      const start = performance.now();
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(variables, idTensor), labelTensor).loss);
      optimizer.step(grads);
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return { ms: performance.now() - start, loss };
    },
    dispose(): void {
      optimizer.dispose();
      tf.dispose([idTensor, labelTensor, ...variables.values()]);
      model.dispose();
    },
  };
}

function round(x: number, digits = 1): number {
  return Number(x.toFixed(digits));
}

(process.argv.includes("--scale") ? runScaleBench(process.argv.slice(2)) : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
