import { formatNumber } from "../display/text-format";
import type { EngineConfig } from "./llamafactory";
import type { Recipe, StepFigures } from "./recipe";
import { vocabRows } from "../models/model-rows";

/** The sources the exported configs were checked against (test/export/fixtures pins the same). */
const CHECKED_AGAINST = [
  "LLaMA-Factory argument dataclasses: hiyouga/LLaMA-Factory src/llamafactory/hparams/{model_args,data_args,finetuning_args}.py (commit 00577a85775a2a78b14641ff8f68c58c6f46b027)",
  "transformers TrainingArguments: huggingface/transformers src/transformers/training_args.py (commit 00349ae87eddc872ffa21a8a54f264375a0056a8)",
  "PEFT TrainableTokens: huggingface/peft src/peft/tuners/trainable_tokens (commit 1948110ce61086030772abf36aa9396c5c3e6739) and the top-level exports of peft 0.17.2.dev0 (src/peft/__init__.py, commit 00073fe85ca790515f0b70caa69bea4c477d9db7)",
];

/** README.md of an export: the files, the one command, exact vs approximate per engine, tokenlab's figures. */
export function recipeReadme(recipe: Recipe, llamaFactory: EngineConfig, peft: EngineConfig | undefined): string {
  const { plan } = recipe;
  const strategy = typeof plan.options.strategy === "string" ? plan.options.strategy : `layer groups ${plan.options.strategy.join(", ")}`;
  const rows = vocabRows(plan.base);
  const tied = plan.base.layout.head === null;
  const lines = [
    `# tokenlab export: ${plan.base.config.architecture}, ${recipe.newTokens.length} new token(s), strategy ${strategy}`,
    "",
    "A training recipe decided in a tokenlab notebook, ready to run on a GPU cluster unchanged.",
    "",
    "## Files",
    "",
    "| file | what it is |",
    "| --- | --- |",
    `| \`model/\` | Hugging Face checkpoint with the new tokens already added: \`config.json\` says \`vocab_size: ${rows}\`, \`tie_word_embeddings: ${tied}\`; the new rows hold tokenlab's ${recipe.checkpoint === "initial" ? "initialization (the weights the run started from)" : "trained weights (the weights the run ended with)"}. No resize, no token arguments, no re-initialization needed. |`,
    "| `model/tokenizer.json`, `model/tokenizer_config.json` | the tokenizer with every AddedToken flag (special, lstrip, rstrip, single_word, normalized) |",
    "| `llamafactory.yaml` | LLaMA-Factory training config for this strategy |",
    "| `data/dataset_info.json`, `data/train.jsonl`, `data/eval.jsonl` | the same train / eval examples, as LLaMA-Factory pre-training text (`{\"text\": ...}` per line; conversations rendered with the chat template) |",
    "| `data/train_rows.jsonl`, `data/eval_rows.jsonl`, `data/train_order.json` | tokenlab's packed rows (input ids, shifted labels, attention mask) and the rows of each step |",
    ...(peft ? ["| `train_peft.py`, `train_peft.json` | Hugging Face Trainer + PEFT TrainableTokens: the new-rows strategy exactly |"] : []),
    "",
    "## Run",
    "",
    "From this folder (the paths in the config are relative to it):",
    "",
    "```sh",
    "llamafactory-cli train llamafactory.yaml",
    "```",
    "",
    ...(peft
      ? [
          "LLaMA-Factory can only train whole embedding matrices, so it trains every row of `embed_tokens` (and `lm_head`), not just the new ones. To reproduce the new-rows strategy exactly:",
          "",
          "```sh",
          "python train_peft.py",
          "```",
          "",
        ]
      : []),
    "## New tokens",
    "",
    "| id | token | special | lstrip | rstrip | single_word | normalized | init |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...recipe.newTokens.map((t) => {
      const f = t.flags;
      const flag = (v: boolean | undefined) => (f ? String(v) : "–");
      return `| ${t.id} | \`${JSON.stringify(t.content).slice(1, -1).replace(/\|/g, "\\|")}\` | ${flag(f?.special)} | ${flag(f?.lstrip)} | ${flag(f?.rstrip)} | ${flag(f?.singleWord)} | ${flag(f?.normalized)} | ${t.init ?? "–"} |`;
    }),
    "",
    "## What maps exactly, what approximately",
    "",
    ...engineSection("LLaMA-Factory (`llamafactory.yaml`)", llamaFactory),
    ...(peft ? engineSection("Trainer + PEFT (`train_peft.py`)", peft) : []),
    "## tokenlab's figures for this recipe",
    "",
    ...figures(recipe),
    "## Checked against",
    "",
    ...CHECKED_AGAINST.map((line) => `- ${line}`),
    "",
  ];
  return lines.join("\n");
}

function engineSection(title: string, config: EngineConfig): string[] {
  return [
    `### ${title}`,
    "",
    "Exact:",
    ...config.exact.map((line) => `- ${line}`),
    "",
    "Approximate:",
    ...config.approximate.map((line) => `- ${line}`),
    "",
  ];
}

function figures(recipe: Recipe): string[] {
  const { run, evaluation } = recipe.figures;
  if (!run && !evaluation) return ["No run was exported, so there is nothing measured yet.", ""];
  const lines: string[] = [];
  if (run) {
    const row = (label: string, f: StepFigures) => `| ${label} | ${f.step} | ${formatNumber(f.loss)} | ${formatNumber(f.newTokenLoss)} |`;
    lines.push(
      `Run status: ${run.status} after ${run.stepsRun} step(s).`,
      "",
      "| | step | loss | new-token loss |",
      "| --- | --- | --- | --- |",
      row("train, first step", run.train.first),
      row("train, last step", run.train.last),
      ...(run.eval ? [row("eval, first", run.eval.first), row("eval, best", run.eval.best), row("eval, last", run.eval.last)] : []),
      "",
    );
  }
  if (evaluation) {
    lines.push(
      "| evaluation | value |",
      "| --- | --- |",
      // NaN = not measured (no plain text, no base model given to evaluate).
      ...Object.entries(evaluation)
        .filter(([, value]) => !Number.isNaN(value))
        .map(([name, value]) => `| ${name} | ${formatNumber(value)} |`),
      "",
    );
  }
  return lines;
}
