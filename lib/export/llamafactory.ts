import type { ParameterLayout } from "../models/causal-lm";
import type { LayerGroup } from "../train/layer-groups";
import { learningRateOf } from "../train/train-options";
import type { Recipe } from "./recipe";

/** One exported config with what it reproduces exactly and what only approximately (one line each, for the README). */
export interface EngineConfig {
  values: Record<string, unknown>;
  exact: string[];
  approximate: string[];
}

/** File names of the datasets in data/dataset_info.json (LLaMA-Factory looks them up by these names). */
const DATASET_NAMES = { train: "tokenlab_train", eval: "tokenlab_eval" } as const;

/**
 * LLaMA-Factory's `dataset_info.json`: the texts as a pre-training ("pt") dataset, one JSON line
 * {"text": ...} per example — tokenlab's examples rendered as it trained on them (conversations
 * through the chat template).
 */
export function datasetInfo(hasEval: boolean): Record<string, unknown> {
  const entry = (file: string) => ({ file_name: file, columns: { prompt: "text" } });
  return {
    [DATASET_NAMES.train]: entry("train.jsonl"),
    ...(hasEval ? { [DATASET_NAMES.eval]: entry("eval.jsonl") } : {}),
  };
}

/**
 * The LLaMA-Factory training config (`llamafactory-cli train llamafactory.yaml`, run from the export
 * folder: paths are relative to it). Every key is one of LLaMA-Factory's argument dataclasses or of
 * transformers' TrainingArguments (test/export/fixtures/llamafactory-keys.json pins the checked list).
 */
export function llamaFactoryConfig(recipe: Recipe): EngineConfig {
  const { options, data, base } = recipe.plan;
  const exact: string[] = [];
  const approximate: string[] = [];
  const strategy = options.strategy;
  const method: Record<string, unknown> =
    strategy === "full" ? { finetuning_type: "full" } : { finetuning_type: "freeze", ...freezeArguments(base.layout, recipe.trainedGroups, exact, approximate) };
  if (strategy === "full") exact.push("strategy full → finetuning_type: full (every weight trains)");
  if (strategy === "gradual") {
    approximate.push(
      `strategy gradual: LLaMA-Factory cannot open layers during a run, so every group opened (by the run's end, or in the plan) trains from step 1: ${recipe.trainedGroups.map((g) => g.name).join(", ")}`,
    );
  }
  const lr = strategy === "new-rows" ? newRowsLearningRate(recipe, approximate) : options.lr;
  if (strategy !== "new-rows" && (options.embeddingLr !== options.lr || Object.keys(options.groupLr).length > 0)) {
    approximate.push(`per-group learning rates (embeddingLr ${options.embeddingLr}, groupLr ${JSON.stringify(options.groupLr)}) → one learning_rate ${lr}`);
  } else {
    exact.push(`learning rate ${lr}`);
  }
  const evalRows = data.eval.length > 0;
  const early = options.earlyStopping;
  const values: Record<string, unknown> = {
    model_name_or_path: "model",
    stage: "pt",
    do_train: true,
    ...method,
    dataset: DATASET_NAMES.train,
    ...(evalRows ? { eval_dataset: DATASET_NAMES.eval } : {}),
    dataset_dir: "data",
    cutoff_len: data.seqLen,
    output_dir: "output/llamafactory",
    logging_steps: 1,
    plot_loss: true,
    report_to: "none",
    per_device_train_batch_size: options.batchSize,
    gradient_accumulation_steps: 1,
    max_steps: recipe.stepOrder.length,
    seed: options.seed,
    ...trainerArguments(recipe, lr, exact, approximate),
    ...(evalRows ? { per_device_eval_batch_size: options.batchSize } : {}),
    ...(early ? { early_stopping_steps: early.patience } : {}),
  };
  approximate.push(
    "data: the same train/eval examples as text; LLaMA-Factory tokenizes and packs them into cutoff_len blocks itself (tokenlab's windows overlap by one token) and draws batches in its own order",
  );
  if (data.source?.lossOn === "assistant") approximate.push('lossOn "assistant" → the pt stage scores every token of the rendered conversations');
  if (early && early.minDelta > 0) approximate.push(`early stopping minDelta ${early.minDelta} has no LLaMA-Factory key (it stops on any non-improvement)`);
  return { values, exact, approximate };
}

/**
 * The learning rate of the new rows as tokenlab's run gives it (embeddingLr, then groupLr), the one
 * rate of a new-rows recipe; a head whose rows get another rate is noted.
 */
export function newRowsLearningRate(recipe: Recipe, approximate: string[]): number {
  const { base, groups, newIds, options } = recipe.plan;
  const layout = base.layout;
  const rateOf = (tensor: string) => learningRateOf({ tensor, rows: newIds }, groups.all, layout, options);
  const lr = rateOf(layout.embedding);
  if (layout.head && rateOf(layout.head) !== lr) approximate.push(`the head's new rows train at ${rateOf(layout.head)} in tokenlab; here at the embedding rows' ${lr}`);
  return lr;
}

/**
 * transformers TrainingArguments shared by the LLaMA-Factory config and train_peft.py: schedule,
 * warmup, optimizer, clipping, evaluation cadence and best-checkpoint restore.
 */
export function trainerArguments(recipe: Recipe, lr: number, exact: string[], approximate: string[]): Record<string, unknown> {
  const { options, data } = recipe.plan;
  const spec = options.scheduleSpec;
  // tokenlab never decays new-row deltas, whatever weightDecay says.
  const weightDecay = options.strategy === "new-rows" ? 0 : options.weightDecay;
  const schedule: Record<string, unknown> =
    spec.kind === "warmup-cosine"
      ? { lr_scheduler_type: "cosine_with_min_lr", lr_scheduler_kwargs: { min_lr_rate: spec.minFactor }, warmup_steps: spec.warmupSteps }
      : { lr_scheduler_type: "constant" };
  if (spec.kind === "warmup-cosine") {
    approximate.push(
      `warmup-cosine (${spec.warmupSteps} warmup steps, floor ${spec.minFactor}) → cosine_with_min_lr: transformers' warmup starts at 0, tokenlab's at 1/${spec.warmupSteps || 1} (one step apart)`,
    );
  } else if (spec.kind === "custom") {
    approximate.push("a custom schedule function cannot be exported; the config uses a constant learning rate");
  } else {
    exact.push("constant learning rate");
  }
  exact.push(
    `AdamW (β 0.9/0.999, ε 1e-8), weight decay ${weightDecay}, gradient clipping at global norm ${options.clipNorm}, batch ${options.batchSize} × ${recipe.stepOrder.length} steps`,
  );
  const evalRows = data.eval.length > 0;
  const early = options.earlyStopping;
  const restore = evalRows && options.restoreBest;
  if (early && !options.restoreBest) approximate.push("transformers' early stopping needs load_best_model_at_end, so the best weights are restored although restoreBest is false");
  if (evalRows) exact.push(`evaluation every ${options.evalEvery} steps`);
  if (early) exact.push(`early stopping after ${early.patience} evaluations without improvement`);
  if (restore) exact.push("the best-eval-loss weights are restored at the end (load_best_model_at_end)");
  return {
    learning_rate: lr,
    ...schedule,
    weight_decay: weightDecay,
    max_grad_norm: options.clipNorm,
    adam_beta1: 0.9,
    adam_beta2: 0.999,
    adam_epsilon: 1e-8,
    ...(evalRows ? { eval_strategy: "steps", eval_steps: options.evalEvery } : {}),
    // load_best_model_at_end needs a checkpoint at every evaluation.
    ...(restore || early ? { save_strategy: "steps", save_steps: options.evalEvery, load_best_model_at_end: true, metric_for_best_model: "eval_loss" } : {}),
  };
}

/** The module name LLaMA-Factory matches for a tensor: the segment after the layer index inside a block, else the one before "weight"/"bias". */
export function moduleOf(tensor: string): string {
  const inBlock = /\.\d+\.([^.]+)/.exec(tensor);
  if (inBlock) return inBlock[1];
  const parts = tensor.split(".");
  return parts[parts.length - 2] ?? tensor;
}

/**
 * freeze_trainable_layers / _modules / freeze_extra_modules for the trained groups. LLaMA-Factory
 * trains the last (or first) n blocks with one module list, and outside the blocks whole modules
 * whose name is a substring of a parameter name: each way the groups do not fit is noted.
 */
function freezeArguments(layout: ParameterLayout, groups: readonly LayerGroup[], exact: string[], approximate: string[]): Record<string, unknown> {
  const names = new Set(groups.map((g) => g.name));
  const extra = new Set<string>();
  const trainedTensors = new Set(groups.flatMap((g) => (g.kind === "tensors" ? g.tensors : [g.tensor])));
  const headTensor = layout.head ?? layout.embedding;
  for (const [whole, rows, tensors] of [
    ["embed", "embed.new", [layout.embedding, ...layout.extras]],
    ["head", "head.new", [headTensor]],
  ] as const) {
    if (names.has(whole)) {
      tensors.forEach((t) => extra.add(moduleOf(t)));
      exact.push(`${whole} → freeze_extra_modules: ${tensors.map(moduleOf).join(", ")}`);
    } else if (names.has(rows)) {
      extra.add(moduleOf(tensors[0]));
      approximate.push(
        `${rows} (only the new tokens' rows) → the whole ${moduleOf(tensors[0])} matrix trains: LLaMA-Factory cannot train single rows — train_peft.py reproduces new-rows exactly`,
      );
    }
  }
  if (names.has("norm.final")) {
    layout.finalNorm.forEach((t) => extra.add(moduleOf(t)));
    exact.push(`norm.final → freeze_extra_modules: ${[...new Set(layout.finalNorm.map(moduleOf))].join(", ")}`);
  }
  const blockTensors = layout.blocks.flatMap((b) => [...b.attention, ...b.mlp, ...b.norms]);
  for (const module of extra) {
    // LLaMA-Factory opens every parameter whose name contains the module name (e.g. "norm" is inside "input_layernorm").
    const alsoOpened = [...blockTensors, layout.embedding, headTensor, ...layout.extras].filter((t) => t.includes(module) && !trainedTensors.has(t));
    if (alsoOpened.length > 0) approximate.push(`freeze_extra_modules "${module}" also opens ${alsoOpened.length} more tensors whose names contain it (e.g. ${alsoOpened[0]})`);
  }
  return {
    ...blockArguments(layout, names, exact, approximate),
    ...(extra.size > 0 ? { freeze_extra_modules: [...extra].join(",") } : {}),
  };
}

function blockArguments(layout: ParameterLayout, names: ReadonlySet<string>, exact: string[], approximate: string[]): Record<string, unknown> {
  const n = layout.blocks.length;
  const perBlock = new Map<number, string>();
  layout.blocks.forEach((block, i) => {
    if (names.has(`block.${i}`)) return perBlock.set(i, "all");
    const parts = [
      ...(names.has(`block.${i}.attn`) ? block.attention : []),
      ...(names.has(`block.${i}.mlp`) ? block.mlp : []),
    ].map(moduleOf);
    if (parts.length > 0) perBlock.set(i, [...new Set(parts)].join(","));
  });
  if (perBlock.size === 0) {
    exact.push("no transformer block trains → freeze_trainable_layers: 0");
    return { freeze_trainable_layers: 0 };
  }
  const indices = [...perBlock.keys()].sort((a, b) => a - b);
  const modules = [...new Set(perBlock.values())];
  const lowest = indices[0];
  const contiguous = indices.every((index, k) => index === lowest + k);
  const fits = contiguous && (indices[indices.length - 1] === n - 1 || lowest === 0);
  // Positive: the last n blocks; negative: the first n; a set that is neither gets the last blocks down to its lowest.
  const layers = !fits ? n - lowest : indices[indices.length - 1] === n - 1 ? indices.length : -indices.length;
  if (!fits) approximate.push(`blocks ${indices.join(", ")} are not the last or first ${indices.length} → freeze_trainable_layers: ${layers} (blocks ${lowest}…${n - 1})`);
  const moduleList = modules.includes("all") ? "all" : [...new Set(modules.flatMap((m) => m.split(",")))].join(",");
  if (modules.length > 1) approximate.push(`blocks train different parts (${modules.join(" / ")}) → the same modules (${moduleList}) in every trained block`);
  if (fits && modules.length === 1) exact.push(`blocks ${indices.join(", ")} (${moduleList}) → freeze_trainable_layers: ${layers}, freeze_trainable_modules: ${moduleList}`);
  return { freeze_trainable_layers: layers, freeze_trainable_modules: moduleList };
}
