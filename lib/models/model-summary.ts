import * as tf from "@tensorflow/tfjs-core";
import { backend } from "../backend/init-backend";
import { Table } from "../display/table";
import type { CausalLM } from "./causal-lm";
import { isPacked, weightCount } from "./packed-weights";
import { overlaidRows } from "./layers/embedding";
import { vocabRows } from "./model-rows";

/**
 * A model at a glance — what a notebook shows for a cell ending with a model, instead of
 * util.inspect's dump of every tensor: architecture, parameter count, embedding rows against the
 * tokenizer's size (rows beyond it are padding; fewer rows than ids is a broken model), tied head,
 * dtypes and the tfjs backend.
 */
export function modelSummary(model: CausalLM, title = "model"): Table {
  const { config, tokenizer, weights, layout } = model;
  const tensors = new Set(weights.values());
  const storedRows = (name: string) => weights.get(name)?.shape[0] ?? 0;
  const addedRows = [...model.overlays.keys()].reduce((sum, name) => sum + overlaidRows(weights.get(name)!, model.overlays.get(name)) - storedRows(name), 0);
  const parameters = [...tensors].reduce((sum, t) => sum + weightCount(t), 0) + addedRows * config.hiddenSize;
  const rows = weights.has(layout.embedding) ? vocabRows(model) : config.vocabSize;
  const hidden = config.hiddenSize;
  const heads = config.numKeyValueHeads === config.numHeads ? `${config.numHeads} heads` : `${config.numHeads} heads (${config.numKeyValueHeads} key/value)`;
  const head = layout.head === null ? "tied to the input embedding" : `separate (${layout.head})`;
  return new Table({
    title,
    columns: ["", "value"],
    rows: [
      ["architecture", `${config.architecture}: ${config.numLayers} layers, hidden ${hidden}, ${heads} × ${config.headDim}, MLP ${config.intermediateSize}`],
      ["parameters", `${compactCount(parameters)} (${parameters.toLocaleString("en-US")})`],
      ["vocabulary", vocabulary(rows, tokenizer.size)],
      ["output head", head],
      ["context", `${config.maxPositionEmbeddings} positions`],
      ["dtype", [...new Set([...tensors].map((t) => (isPacked(t) ? "bfloat16 (packed)" : t.dtype)))].join(", ")],
      ["backend", activeBackend()],
    ],
  });
}

function vocabulary(rows: number, tokenizerSize: number): string {
  const both = `${rows.toLocaleString("en-US")} embedding rows, tokenizer ${tokenizerSize.toLocaleString("en-US")} ids`;
  if (rows === tokenizerSize) return both;
  if (rows > tokenizerSize) return `${both} (${rows - tokenizerSize} padding rows)`;
  return `${both} — ${tokenizerSize - rows} ids have no row!`;
}

function compactCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toPrecision(3)} B`;
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)} M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)} K`;
  return String(n);
}

function activeBackend(): string {
  try {
    return backend();
  } catch {
    return `tfjs "${tf.getBackend()}"`; // a model built without initBackend (tests, scripts)
  }
}
