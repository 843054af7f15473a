/**
 * `npm run bench`: tokenlab against PyTorch eager on the same weights, batch and loss, in one run.
 * Model: Llama-style, d_model 256, 4 layers, 4 heads, vocab 8192, tied; batch 8 × 128 tokens.
 * Prints one JSON object: forward and train-step medians (forward + cross-entropy + backward +
 * AdamW), tokens/s and train_ratio = torch ms / tokenlab ms. Both sides use one thread (tfjs wasm
 * is single-threaded in Node; torch.set_num_threads(1)).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { backend, initBackend } from "../lib/backend/init-backend";
import { loadModel } from "../lib/models/load-model";
import { AdamW } from "../lib/train/adamw";
import { crossEntropy } from "../lib/train/cross-entropy";
import { writeTinyCheckpoint } from "../test/fixtures/tiny-checkpoint";

const BATCH = 8;
const SEQUENCE = 128;
const VOCAB = 8192;
const WARMUP = 1;
const STEPS = Number(process.env.BENCH_STEPS ?? 3);
const THREADS = 1;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function medianMs(fn: () => void): number {
  for (let i = 0; i < WARMUP; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
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

    const tokenlab = await benchTokenlab(dir, ids, labels);
    const torch = JSON.parse(
      execFileSync("/usr/bin/python3", [path.join(__dirname, "torch_train_step.py")], {
        input: JSON.stringify({ dir, ids, labels, threads: THREADS, warmup: WARMUP, steps: STEPS }),
        env: { ...process.env, OMP_NUM_THREADS: String(THREADS) },
        maxBuffer: 1 << 26,
      }).toString(),
    );
    const tokens = BATCH * SEQUENCE;
    const result = {
      model: { architecture: "LlamaForCausalLM", d_model: 256, layers: 4, heads: 4, vocab: VOCAB, tied: true },
      batch: [BATCH, SEQUENCE],
      steps_measured: STEPS,
      backend: backend(),
      threads: { tokenlab: THREADS, torch: torch.threads },
      torch_version: torch.torch_version,
      load_average: os.loadavg().map((l) => Number(l.toFixed(2))),
      tokenlab: {
        forward_ms: round(tokenlab.forwardMs),
        train_step_ms: round(tokenlab.stepMs),
        tokens_per_s: round((tokens / tokenlab.stepMs) * 1000),
        first_loss: round(tokenlab.firstLoss, 5),
      },
      torch: {
        forward_ms: round(torch.forward_ms),
        train_step_ms: round(torch.train_step_ms),
        tokens_per_s: round((tokens / torch.train_step_ms) * 1000),
        first_loss: round(torch.first_loss, 5),
      },
      forward_ratio: round(torch.forward_ms / tokenlab.forwardMs, 3),
      train_ratio: round(torch.train_step_ms / tokenlab.stepMs, 3),
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function benchTokenlab(dir: string, ids: number[][], labels: number[][]) {
  const model = await loadModel(dir);
  const names = [...model.weights.keys()];
  const variables = new Map(names.map((n) => [n, tf.variable(model.weights.get(n)!, true, n)]));
  const optimizer = new AdamW([{ name: "all", params: [...variables.values()], learningRate: 1e-4, weightDecay: 0.01 }]);
  const idTensor = tf.tensor2d(ids, undefined, "int32");
  const labelTensor = tf.tensor2d(labels, undefined, "int32");
  const losses: number[] = [];

  const forwardMs = medianMs(() => {
    tf.tidy(() => model.forward(variables, idTensor).dataSync());
  });
  const stepMs = medianMs(() => {
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(variables, idTensor), labelTensor).loss);
    optimizer.step(grads);
    losses.push(value.dataSync()[0]);
    tf.dispose([value, ...Object.values(grads)]);
  });
  optimizer.dispose();
  tf.dispose([idTensor, labelTensor, ...variables.values()]);
  model.dispose();
  return { forwardMs, stepMs, firstLoss: losses[0] };
}

function round(x: number, digits = 1): number {
  return Number(x.toFixed(digits));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
