import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import type { EvaluationMetrics } from "../analysis/evaluate";
import type { Example } from "../data/examples";
import type { PackedSequence } from "../data/pack";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { optionChecks } from "../errors/option-checks";
import { TokenlabError } from "../errors/tokenlab-error";
import { checkTargetDirectory, replaceDirectoryAtomic } from "../hf/atomic-write";
import { FLOAT_DTYPES, type FloatDtype } from "../hf/safetensors";
import { writeModel } from "../models/load-model";
import type { TrainOptions } from "../train/train-options";
import { datasetInfo, llamaFactoryConfig } from "./llamafactory";
import { PEFT_SCRIPT, peftConfig } from "./peft-script";
import { buildRecipe, type Recipe, type RecipeSource } from "./recipe";
import { recipeReadme } from "./recipe-readme";

export interface ExportOptions {
  /** Replace a non-empty `dir` (default false: an existing non-empty folder is an error). */
  overwrite?: boolean;
  /** Weights to export from a run: "initial" (default; where the run started, so the cluster run repeats it) or "trained". */
  checkpoint?: "initial" | "trained";
  /** Storage dtype of the checkpoint (default: the model's, see saveModel). */
  dtype?: FloatDtype;
  /** Training examples, when the source is an addTokens result / {model, newIds} rather than a run. */
  data?: string | ReadonlyArray<string | Example>;
  /** Training options (as `train` takes them), when the source is not a run. */
  train?: TrainOptions;
  /** An `evaluate(...)` report whose metrics go into the README's figures. */
  evaluation?: { metrics: EvaluationMetrics };
}

const OPTION_KEYS: ReadonlyArray<keyof ExportOptions> = ["overwrite", "checkpoint", "dtype", "data", "train", "evaluation"];

/** What exportRecipe wrote; displays as the exported README. */
export interface ExportResult {
  dir: string;
  /** Paths relative to `dir`, model files included. */
  files: string[];
  recipe: Recipe;
  readme: string;
  [JUPYTER_DISPLAY](): MimeBundle;
}

/**
 * Writes a folder that runs unchanged on a cluster: the checkpoint with the new tokens (model/), a
 * LLaMA-Factory config with its dataset, a Trainer + PEFT script for the new-rows strategy and a
 * README (files, command, exact vs approximate, tokenlab's figures). `source` is a finished Run, or
 * an addTokens result (or {model, newIds}) with `options.data` and `options.train`.
 *
 * Everything is validated before the first byte is written, and the folder appears whole or not at
 * all (one directory swap); an existing non-empty folder is replaced only with `overwrite: true`.
 */
export async function exportRecipe(source: RecipeSource, dir: string, options: ExportOptions = {}): Promise<ExportResult> {
  checkOptions(options);
  checkTargetDirectory(dir);
  if (!options.overwrite && fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new TokenlabError(`${dir} exists and is not empty; pass {overwrite: true} to replace it, or name a new folder`, { dir });
  }
  const recipe = buildRecipe(source, options);
  const llamaFactory = llamaFactoryConfig(recipe);
  const peft = recipe.plan.options.strategy === "new-rows" ? peftConfig(recipe) : undefined;
  const readme = recipeReadme(recipe, llamaFactory, peft);
  const { train, eval: evalRows } = recipe.plan.data;
  const files: Record<string, string> = {
    "README.md": readme,
    "llamafactory.yaml": pythonYaml(llamaFactory.values),
    "data/dataset_info.json": json(datasetInfo(evalRows.length > 0)),
    "data/train.jsonl": jsonLines(recipe.texts.train.map((text) => ({ text }))),
    "data/eval.jsonl": jsonLines(recipe.texts.eval.map((text) => ({ text }))),
    "data/train_rows.jsonl": jsonLines(train.map(rowJson)),
    "data/eval_rows.jsonl": jsonLines(evalRows.map(rowJson)),
    "data/train_order.json": JSON.stringify(recipe.stepOrder) + "\n",
    ...(peft ? { "train_peft.py": PEFT_SCRIPT, "train_peft.json": json(peft.values) } : {}),
  };
  replaceDirectoryAtomic(
    dir,
    (staging) => {
      writeModel(recipe.model, path.join(staging, "model"), options.dtype ? { dtype: options.dtype } : {});
      for (const [name, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(staging, name)), { recursive: true });
        fs.writeFileSync(path.join(staging, name), content);
      }
    },
    () => true, // an export replaces the folder whole: nothing of an older export survives
  );
  const written = [...fs.readdirSync(path.join(dir, "model")).map((f) => `model/${f}`), ...Object.keys(files)].sort();
  return {
    dir,
    files: written,
    recipe,
    readme,
    [JUPYTER_DISPLAY]: () => ({ "text/markdown": readme, "text/plain": `exported to ${dir}: ${written.join(", ")}` }),
  };
}

function checkOptions(options: ExportOptions): void {
  const checks = optionChecks(TokenlabError, "exportRecipe option");
  checks.knownKeys(options, OPTION_KEYS);
  checks.oneOf("checkpoint", options.checkpoint, ["initial", "trained"]);
  checks.oneOf("dtype", options.dtype, FLOAT_DTYPES);
  checks.boolean("overwrite", options.overwrite);
}

/**
 * YAML as PyYAML (LLaMA-Factory's reader) types it: YAML 1.1 reads `1e-8` as a string, so a number
 * in exponent form gets a fraction and a signed exponent (`1.0e-8`), which both YAML versions read as a float.
 */
function pythonYaml(value: unknown): string {
  return stringify(value).replace(/^(\s*[\w.-]+: -?\d+)(\.\d+)?e([-+]?)(\d+)$/gm, (_m, head: string, fraction: string | undefined, sign: string, exponent: string) =>
    `${head}${fraction ?? ".0"}e${sign || "+"}${exponent}`,
  );
}

function rowJson(row: PackedSequence): Record<string, number[]> {
  return { input_ids: row.inputIds, labels: row.labels, attention_mask: row.attentionMask };
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

function jsonLines(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v) + "\n").join("");
}
