/**
 * `npm run bench`: tokenlab against PyTorch eager on the same weights, batch and loss, in one run.
 * Model: Llama-style, d_model 256, 4 layers, 4 heads, vocab 8192, tied; batch 8 × 128 tokens.
 * Prints one JSON object: forward and train-step medians (forward + cross-entropy + backward +
 * AdamW), tokens/s and train_ratio = torch ms / tokenlab ms. Both sides use one thread (tfjs wasm
 * is single-threaded in Node; torch.set_num_threads(1)). Measurements alternate between tokenlab
 * and a resident PyTorch process, so load from other processes hits both alike.
 */
import { spawn } from "node:child_process";
import * as readline from "node:readline";
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

/** The PyTorch side (torch_train_step.py) as a resident process answering one command at a time. */
async function startTorch(init: Record<string, unknown>) {
  const child = spawn("/usr/bin/python3", [path.join(__dirname, "torch_train_step.py")], {
    env: { ...process.env, OMP_NUM_THREADS: String(THREADS) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const ask = async (line: string) => {
    child.stdin!.write(line + "\n");
    const answer = await lines.next();
    if (answer.done) throw new Error("the PyTorch benchmark process ended early");
    return JSON.parse(answer.value);
  };
  const info = await ask(JSON.stringify(init));
  return { info, ask, close: () => child.stdin!.end() };
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
    const torch = await startTorch({ dir, ids, labels, threads: THREADS });
    const times = { tokenlabForward: [] as number[], torchForward: [] as number[], tokenlabStep: [] as number[], torchStep: [] as number[] };
    const losses = { tokenlab: [] as number[], torch: [] as number[] };
    for (let i = 0; i < WARMUP + STEPS; i++) {
      const measured = i >= WARMUP;
      const tokenlabForward = tokenlab.forward();
      const torchForward = (await torch.ask("forward")).ms;
      const tokenlabStep = tokenlab.step();
      const torchStep = await torch.ask("step");
      losses.tokenlab.push(tokenlabStep.loss);
      losses.torch.push(torchStep.loss);
      if (!measured) continue;
      times.tokenlabForward.push(tokenlabForward);
      times.torchForward.push(torchForward);
      times.tokenlabStep.push(tokenlabStep.ms);
      times.torchStep.push(torchStep.ms);
    }
    torch.close();
    tokenlab.dispose();
    const tokens = BATCH * SEQUENCE;
    const side = (forward: number[], step: number[], loss: number[]) => ({
      forward_ms: round(median(forward)),
      train_step_ms: round(median(step)),
      tokens_per_s: round((tokens / median(step)) * 1000),
      first_loss: round(loss[0], 5),
    });
    const result = {
      model: { architecture: "LlamaForCausalLM", d_model: 256, layers: 4, heads: 4, vocab: VOCAB, tied: true },
      batch: [BATCH, SEQUENCE],
      steps_measured: STEPS,
      backend: backend(),
      threads: { tokenlab: THREADS, torch: torch.info.threads },
      torch_version: torch.info.torch_version,
      load_average: os.loadavg().map((l) => Number(l.toFixed(2))),
      tokenlab: side(times.tokenlabForward, times.tokenlabStep, losses.tokenlab),
      torch: side(times.torchForward, times.torchStep, losses.torch),
      forward_ratio: round(median(times.torchForward) / median(times.tokenlabForward), 3),
      train_ratio: round(median(times.torchStep) / median(times.tokenlabStep), 3),
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
      // Return nothing from tidy: it would walk a returned 8M-entry typed array looking for tensors.
      tf.tidy(() => {
        model.forward(variables, idTensor).dataSync();
      });
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

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
