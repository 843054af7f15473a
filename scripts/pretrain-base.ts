/**
 * Pretrains tokenlab's bundled base model from scratch: `npm run pretrain-base [-- --steps N --out DIR]`.
 * Smoke runs (tests): `--batch-size N`, `--eval-batches N` (first N held-out batches of 16 windows
 * only, during training) and `--no-card` (skip the model card's evaluation); defaults are the full run.
 * 1. Brown corpus → plain text, fixed held-out split;  2. byte-level BPE tokenizer (HF Rust trainer);
 * 3. LlamaForCausalLM initialized as transformers does;  4. AdamW pretraining, checkpoint (atomic)
 * at every evaluation;  5. model card with held-out perplexity and embedding neighbours.
 * Deterministic for the seed in base-model-spec.ts; defaults write lib/base-model/checkpoint.
 */
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/backend/init-backend";
import { writeFileAtomic } from "../lib/hf/atomic-write";
import { saveModel } from "../lib/models/load-model";
import { familyFor } from "../lib/models/registry";
import { TransformerLM } from "../lib/models/transformer-lm";
import { weightsFromCheckpoint } from "../lib/models/weight-conversion";
import { baseModelDir } from "../lib/base-model";
import { EOS_TOKEN_ID, GENERATION_CONFIG, LLAMA_CONFIG, PRETRAINING, SEQUENCE_LENGTH } from "./base-model/base-model-spec";
import { trainBaseTokenizer } from "./base-model/base-tokenizer";
import { readBrownDocuments, splitBrownDocuments } from "./base-model/brown-corpus";
import { heldOutWindows } from "./base-model/held-out-loss";
import { initLlamaWeights } from "./base-model/init-llama-weights";
import type { TrainerState } from "./base-model/model-card";
import { ADAM_BETAS, pretrain } from "./base-model/pretrain-loop";
import { tokenStream } from "./base-model/token-windows";
import { writeModelCard } from "./base-model/write-model-card";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: "string" },
      out: { type: "string" },
      "batch-size": { type: "string" },
      "eval-batches": { type: "string" },
      "no-card": { type: "boolean", default: false },
    },
  });
  const steps = positiveInteger(values.steps, "--steps") ?? PRETRAINING.steps;
  const batchSize = positiveInteger(values["batch-size"], "--batch-size") ?? PRETRAINING.batchSize;
  const evalBatches = positiveInteger(values["eval-batches"], "--eval-batches"); // undefined: all
  const options = { ...PRETRAINING, steps, batchSize, warmupSteps: Math.min(PRETRAINING.warmupSteps, steps) }; // short smoke runs too
  const outDir = path.resolve(values.out ?? baseModelDir());
  const startedAt = new Date();
  const backend = await initBackend();
  const say = (message: string) => console.log(`[${new Date().toISOString()}] ${message}`);

  const { train, heldOut } = splitBrownDocuments(readBrownDocuments());
  const tokenizer = trainBaseTokenizer(train);
  const trainStream = tokenStream(tokenizer, train.map((d) => d.text), EOS_TOKEN_ID);
  const heldOutStream = tokenStream(tokenizer, heldOut.map((d) => d.text), EOS_TOKEN_ID);
  say(`backend ${backend}; tokenizer ${tokenizer.size} tokens; train ${trainStream.length} tokens, held-out ${heldOutStream.length}`);

  const architecture = LLAMA_CONFIG.architectures[0];
  const family = familyFor(architecture);
  const config = family.parseConfig(LLAMA_CONFIG, architecture);
  const initial = initLlamaWeights(LLAMA_CONFIG, options.seed);
  const weights = weightsFromCheckpoint(family, config, new Map(initial.map((t) => [t.name, { ...t, shape: [...t.shape], data: t.data as Float32Array }])));
  const model = new TransformerLM(family, config, tokenizer, weights, GENERATION_CONFIG);

  const argv = process.argv.slice(2);
  const state: TrainerState = {
    command: ["npm run pretrain-base", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" "),
    hardware: `${os.cpus().length}× ${os.cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    backend,
    started_at: startedAt.toISOString(),
    wall_seconds: 0,
    global_step: 0,
    max_steps: options.steps,
    batch_size: options.batchSize,
    sequence_length: SEQUENCE_LENGTH,
    learning_rate: options.learningRate,
    warmup_steps: options.warmupSteps,
    min_lr_factor: options.minLrFactor,
    weight_decay: options.weightDecay,
    adam_betas: [ADAM_BETAS.beta1, ADAM_BETAS.beta2],
    clip_norm: options.clipNorm,
    seed: options.seed,
    train_documents: train.length,
    held_out_document_ids: heldOut.map((d) => d.id),
    train_tokens: trainStream.length,
    held_out_tokens: heldOutStream.length,
    log_history: [],
  };

  const heldOutBatches = heldOutWindows(heldOutStream).slice(0, evalBatches);
  await pretrain(model, trainStream, heldOutBatches, options, SEQUENCE_LENGTH, {
    log(entry) {
      state.log_history.push(entry);
      say(`${JSON.stringify(entry)} tensors=${tf.memory().numTensors}`);
    },
    async checkpoint(trained, step) {
      await saveModel(model.withChanges({ weights: trained }), outDir);
      state.global_step = step;
      state.wall_seconds = (Date.now() - startedAt.getTime()) / 1000;
      writeFileAtomic(path.join(outDir, "trainer_state.json"), JSON.stringify(state, null, 2) + "\n");
      say(`saved step ${step} to ${outDir}`);
    },
  });
  model.dispose();

  if (values["no-card"]) return;
  const evaluation = await writeModelCard(outDir);
  say(`held-out perplexity ${Math.exp(evaluation.heldOutLoss).toFixed(2)} (unigram ${Math.exp(evaluation.unigramHeldOutLoss).toFixed(1)}); model card written`);
}

/** `text` as a positive integer; undefined when the option was not given. */
function positiveInteger(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${option} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
