/**
 * Where a training step's time goes: `node --import tsx bench/profile-train-step.ts` runs the
 * benchmark model of train-step.ts (d_model 256, 4 layers, vocab 8192, batch 8 × 128) for one
 * profiled step and prints one JSON object: wall time of forward+backward and of AdamW, and kernel
 * time grouped by kernel (matMuls by operand shapes), largest first.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { backend, initBackend } from "../lib/backend/init-backend";
import { loadModel } from "../lib/models/load-model";
import { AdamW } from "../lib/train/adamw";
import { crossEntropy } from "../lib/train/cross-entropy";
import { writeTinyCheckpoint } from "../test/fixtures/tiny-checkpoint";

async function main(): Promise<void> {
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-profile-"));
  try {
    writeTinyCheckpoint(dir, {
      hiddenSize: 256,
      numLayers: 4,
      numHeads: 4,
      numKeyValueHeads: 4,
      intermediateSize: 1024,
      vocabSize: 8192,
      weightStd: 0.02,
      seed: 7,
    });
    const model = await loadModel(dir);
    const batch = (shift: number) =>
      tf.tensor2d(Array.from({ length: 8 }, (_, b) => Array.from({ length: 128 }, (_, t) => (b * 131 + t * 7 + shift) % 8192)), undefined, "int32");
    const ids = batch(0);
    const labels = batch(7);
    const variables = new Map([...model.weights].map(([n, w]) => [n, tf.variable(w, true, n)]));
    const optimizer = new AdamW([{ name: "all", params: [...variables.values()], learningRate: 1e-4, weightDecay: 0.01 }]);
    const wall = { forwardBackwardMs: 0, adamwMs: 0 };
    const step = () => {
      let start = performance.now();
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(variables, ids), labels).loss);
      value.dataSync();
      wall.forwardBackwardMs = performance.now() - start;
      start = performance.now();
      optimizer.step(grads);
      tf.dispose([value, ...Object.values(grads)]);
      variables.get(model.layout.embedding)!.dataSync(); // wait for the update
      wall.adamwMs = performance.now() - start;
    };
    step(); // warm-up: kernels set up, optimizer state allocated
    step();
    const measuredWall = { ...wall };
    const profile = await tf.profile(() => step());
    const byKernel = new Map<string, number>();
    let total = 0;
    for (const k of profile.kernels) {
      if (k.name === "unnamed scope") continue; // custom-gradient wrappers: their kernels are counted already
      const key = k.name === "BatchMatMul" ? `BatchMatMul ${k.inputShapes.map((s) => JSON.stringify(s)).join("x")}` : k.name;
      byKernel.set(key, (byKernel.get(key) ?? 0) + (k.kernelTimeMs as number));
      total += k.kernelTimeMs as number;
    }
    const kernels = [...byKernel].sort((a, b) => b[1] - a[1]).map(([kernel, ms]) => ({ kernel, ms: Math.round(ms), share: Number((ms / total).toFixed(3)) }));
    console.log(
      JSON.stringify(
        {
          backend: backend(),
          load_average: os.loadavg().map((l) => Number(l.toFixed(2))),
          wall_ms: { forward_backward: Math.round(measuredWall.forwardBackwardMs), adamw: Math.round(measuredWall.adamwMs) },
          kernel_count: profile.kernels.length,
          kernel_ms_total: Math.round(total),
          kernels: kernels.slice(0, 20),
        },
        null,
        2,
      ),
    );
    optimizer.dispose();
    tf.dispose([ids, labels, ...variables.values()]);
    model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
