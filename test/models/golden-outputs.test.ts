import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import type { FloatDtype } from "../../lib/hf/safetensors";
import { loadModel } from "../../lib/models/load-model";
import { isPacked } from "../../lib/models/packed-weights";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { crossEntropy } from "../../lib/train/cross-entropy";
import { TINY_ARCHITECTURES, writeTinyCheckpoint, type TinyCheckpointOptions } from "../fixtures/tiny-checkpoint";
import { relativeError, runReference, type ReferenceRequest, type ReferenceResult } from "../reference/run-reference";

/** Two rows, the second left-padded, so causal and padding masks are both exercised. */
const IDS = [
  [72, 101, 108, 108, 111, 32, 119],
  [0, 0, 84, 104, 101, 32, 102],
];
const MASK = [
  [1, 1, 1, 1, 1, 1, 1],
  [0, 0, 1, 1, 1, 1, 1],
];
/** Next-token targets; the padding positions and the last position are ignored. */
const TARGETS = [
  [101, 108, 108, 111, 32, 119, -100],
  [-100, -100, 104, 101, 32, 102, -100],
];
const TOLERANCE = 1e-4;

interface Case {
  label: string;
  options: TinyCheckpointOptions;
  training: boolean;
}

const CASES: Case[] = [];
for (const architecture of TINY_ARCHITECTURES) {
  for (const tied of [true, false]) {
    for (const dtype of ["F32", "BF16"] as FloatDtype[]) {
      CASES.push({ label: `${architecture} ${tied ? "tied" : "untied"} ${dtype}`, options: { architecture, tied, dtype }, training: true });
    }
  }
}
const ropeScalings: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
  ["linear", { rope_type: "linear", factor: 2.0 }, {}],
  ["dynamic", { type: "dynamic", factor: 2.0 }, { max_position_embeddings: 4 }], // active: 7 positions > 4
  ["llama3", { rope_type: "llama3", factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 16 }, {}],
];
for (const [name, ropeScaling, configOverrides] of ropeScalings) {
  CASES.push({ label: `LlamaForCausalLM rope_scaling ${name}`, options: { ropeScaling, configOverrides }, training: false });
}
CASES.push({
  label: "MistralForCausalLM with a sliding window of 3",
  options: { architecture: "MistralForCausalLM", configOverrides: { sliding_window: 3 } },
  training: true,
});
CASES.push({
  label: "Qwen2ForCausalLM with sliding-window layers from max_window_layers 1",
  options: { architecture: "Qwen2ForCausalLM", configOverrides: { use_sliding_window: true, sliding_window: 2, max_window_layers: 1 } },
  training: false,
});
// transformers: attention_bias gives Llama all four projection biases; Qwen2 ignores it (q/k/v biases, no o_proj bias).
CASES.push({
  label: "LlamaForCausalLM with attention_bias (q/k/v/o biases)",
  options: { configOverrides: { attention_bias: true } },
  training: true,
});
CASES.push({
  label: "Qwen2ForCausalLM with attention_bias: true (still no o_proj bias)",
  options: { architecture: "Qwen2ForCausalLM", configOverrides: { attention_bias: true } },
  training: true,
});
CASES.push({
  label: "Qwen3ForCausalLM with head_dim ≠ hidden/heads and 1 kv head",
  options: { architecture: "Qwen3ForCausalLM", headDim: 16, numKeyValueHeads: 1 },
  training: false,
});

describe("golden outputs against an independent PyTorch reference", function () {
  this.timeout(300_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-golden-"));
  let references: ReferenceResult[];

  before(async () => {
    await initBackend();
    const requests: ReferenceRequest[] = CASES.map((c, i) => {
      const dir = path.join(root, String(i));
      writeTinyCheckpoint(dir, { seed: i + 1, ...c.options });
      return { dir, ids: IDS, mask: MASK, targets: c.training ? TARGETS : null };
    });
    references = runReference(requests);
  });

  after(() => fs.rmSync(root, { recursive: true, force: true }));

  CASES.forEach((c, i) => {
    it(`${c.label}: logits${c.training ? ", loss and gradients" : ""} match within ${TOLERANCE} relative`, async () => {
      const model = await loadModel(path.join(root, String(i)));
      try {
        checkAgainstReference(model, c, references[i]);
      } finally {
        model.dispose();
      }
    });
  });

  // The same BF16 checkpoints with their matrices kept 16-bit: the products widen W inside the kernel,
  // so logits, the loss and the gradients of the float32 tensors (norms, biases, which flow back
  // through every packed matrix via dy·W) must match PyTorch just as closely.
  CASES.forEach((c, i) => {
    if (c.options.dtype !== "BF16") return;
    it(`${c.label} kept 16-bit (keepBf16): logits${c.training ? ", loss and float32 gradients" : ""} match within ${TOLERANCE} relative`, async () => {
      const model = await loadModel(path.join(root, String(i)), { keepBf16: true });
      try {
        const packed = [...model.weights].filter(([, t]) => isPacked(t)).map(([name]) => name);
        assert.ok(packed.includes(model.layout.embedding), "the embedding is kept packed");
        if (c.options.architecture !== "GPT2LMHeadModel") assert.ok(packed.includes("model.layers.0.self_attn.q_proj.weight"), "linear weights are kept packed");
        checkAgainstReference(model, c, references[i]);
      } finally {
        model.dispose();
      }
    });
  });
});

/** Logits (and for training cases one step's loss and gradients) against the PyTorch reference. */
function checkAgainstReference(model: TransformerLM, c: Case, reference: ReferenceResult): void {
  const logits = model.forward(model.weights, tf.tensor2d(IDS, undefined, "int32"), tf.tensor2d(MASK, undefined, "int32"));
  assert.ok(relativeError(logits.dataSync(), reference.logits) < TOLERANCE, `logits error ${relativeError(logits.dataSync(), reference.logits)}`);
  logits.dispose();
  if (c.training) checkTrainingStep(model, reference);
}

/** Loss and the gradient of every float32 checkpoint tensor (packed ones take none), compared in checkpoint layout. */
function checkTrainingStep(model: TransformerLM, reference: ReferenceResult): void {
  const names = [...model.weights.keys()].filter((name) => !isPacked(model.weights.get(name)!));
  const specs = model.family.tensorSpecs(model.config);
  const ids = tf.tensor2d(IDS, undefined, "int32");
  const mask = tf.tensor2d(MASK, undefined, "int32");
  const targets = tf.tensor2d(TARGETS, undefined, "int32");
  const { value, grads } = tf.valueAndGrads((...tensors: tf.Tensor[]) => {
    const weights = new Map([...model.weights, ...names.map((n, k) => [n, tensors[k]] as const)]);
    return crossEntropy(model.forward(weights, ids, mask), targets).loss;
  })(names.map((n) => model.weights.get(n)!));
  const lossError = Math.abs(value.dataSync()[0] - reference.loss!) / Math.abs(reference.loss!);
  assert.ok(lossError < TOLERANCE, `loss ${value.dataSync()[0]} vs ${reference.loss}`);
  names.forEach((name, k) => {
    const grad = specs.get(name)!.transposed ? tf.transpose(grads[k]) : grads[k];
    const expected = reference.grads![name];
    assert.ok(expected, `reference has a gradient for ${name}`);
    const error = relativeError(grad.dataSync(), expected);
    assert.ok(error < TOLERANCE, `gradient of ${name}: relative error ${error}`);
  });
  tf.dispose([value, ...grads, ids, mask, targets]);
}
