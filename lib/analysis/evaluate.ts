import * as tf from "@tensorflow/tfjs-core";
import type { Example } from "../data/examples";
import { IGNORE_INDEX, type PackedSequence } from "../data/pack";
import { isTrainingData, prepareData, type TrainingData } from "../data/prepare-data";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { Table } from "../display/table";
import { TokenlabError } from "../errors/tokenlab-error";
import { optionChecks } from "../errors/option-checks";
import { assertNotDisposed, assertTokenIds, type CausalLM } from "../models/causal-lm";
import { assertSequenceFits } from "../models/model-config";
import { vocabRows } from "../models/model-rows";
import { rowsWithinBudget } from "../models/token-log-probs";
import { batchTensors } from "../train/train-step";
import { crossEntropy } from "../train/cross-entropy";
import { plainTextEffects, type PlainTextEffects } from "./plain-text-effects";

/** Evaluation data: packed rows, TrainingData (its eval rows), or a source prepared with the model's tokenizer. */
export type EvalData = readonly PackedSequence[] | TrainingData | string | ReadonlyArray<string | Example>;

export interface EvaluateOptions {
  /** Ids of the added tokens (default: what an addTokens result carries, else none). */
  newIds?: readonly number[];
  /** Held-out text without new tokens, for forgetting and the mass taken by new tokens; same forms as `data`. */
  plainText?: EvalData;
  /** The model before adding tokens / training: KL(p_base ‖ p_model) and forgetting on the plain text. */
  base?: CausalLM;
  batchSize?: number;
  seqLen?: number;
}

export interface TokenEmission {
  id: number;
  token: string;
  /** Positions whose gold next token is this token. */
  support: number;
  /** Positions where greedy decoding (argmax) predicts it. */
  predicted: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface EvaluationMetrics extends Omit<PlainTextEffects, "positions"> {
  /** Mean loss and argmax accuracy over positions whose target is a new token. */
  newTokenLoss: number;
  newTokenAccuracy: number;
  newTokenPositions: number;
  /** Mean loss and accuracy over all target positions. */
  loss: number;
  accuracy: number;
  positions: number;
  /** Target positions of the plain text (0 without plainText; its figures are then NaN). */
  plainTextPositions: number;
  /** Emission of each new token under greedy decoding at the gold positions. */
  emissions: TokenEmission[];
}

/**
 * Metrics made for new tokens (teacher-forced: at every target position the model sees the gold
 * prefix): loss and next-token accuracy on new-token targets, precision / recall / F1 of each new
 * token's emission when the argmax is taken at each position, and on plain text (without new tokens)
 * the two effects of adding tokens kept apart (see PlainTextEffects): the probability the new tokens
 * take, and forgetting over the base vocabulary; the full-softmax perplexity and KL mix both.
 * Displays as three tables.
 */
export function evaluate(model: CausalLM | { model: CausalLM; newIds: readonly number[] }, data: EvalData, options: EvaluateOptions = {}): EvaluationReport {
  const target = "model" in model && "newIds" in model ? model.model : (model as CausalLM);
  const checks = optionChecks(TokenlabError, "evaluate option");
  checks.knownKeys(options, ["newIds", "plainText", "base", "batchSize", "seqLen"]);
  checks.number("batchSize", options.batchSize, { integer: true, min: 1 });
  if (options.newIds !== undefined && !Array.isArray(options.newIds)) checks.fail("newIds", "must be a list of token ids", options.newIds);
  assertNotDisposed(target, "evaluate");
  if (options.base) assertNotDisposed(options.base, "evaluate: options.base");
  const newIds = [...(options.newIds ?? ("newIds" in model ? model.newIds : []))];
  // A row for an id that is no token would report metrics of nothing.
  assertTokenIds(target, newIds, "evaluate: newIds");
  const rows = toRows(target, data, options.seqLen);
  assertSequenceFits(target.config, rows[0]?.inputIds.length ?? 0, "evaluate: seqLen");
  const batchFor = (rowsOfBatch: readonly { inputIds: readonly number[] }[]) =>
    rowsPerBatch(options.batchSize ?? 8, rowsOfBatch[0]?.inputIds.length ?? 0, vocabRows(target));
  const counts = { newLoss: 0, newCorrect: 0, newCount: 0, loss: 0, correct: 0, count: 0 };
  const perToken = new Map(newIds.map((id) => [id, { tp: 0, predicted: 0, support: 0 }]));
  forEachBatch(target, rows, batchFor(rows), (labels, nll, argmax) => {
    labels.forEach((label, i) => {
      if (label === IGNORE_INDEX) return;
      const hit = argmax[i] === label;
      counts.loss += nll[i];
      counts.correct += hit ? 1 : 0;
      counts.count++;
      const gold = perToken.get(label);
      if (gold) {
        counts.newLoss += nll[i];
        counts.newCorrect += hit ? 1 : 0;
        counts.newCount++;
        gold.support++;
        if (hit) gold.tp++;
      }
      const predicted = perToken.get(argmax[i]);
      if (predicted) predicted.predicted++;
    });
  });

  const plainRows = options.plainText !== undefined ? toRows(target, options.plainText, options.seqLen) : undefined;
  const plain = plainRows !== undefined ? plainTextEffects(target, options.base, plainRows, newIds, batchFor(plainRows)) : noPlainText(newIds);
  const { positions: plainTextPositions, ...plainFigures } = plain;

  const emissions = newIds.map((id): TokenEmission => {
    const c = perToken.get(id)!;
    const precision = c.predicted > 0 ? c.tp / c.predicted : NaN;
    const recall = c.support > 0 ? c.tp / c.support : NaN;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : c.tp === 0 && (c.predicted > 0 || c.support > 0) ? 0 : NaN;
    return { id, token: target.tokenizer.decode([id]), support: c.support, predicted: c.predicted, precision, recall, f1 };
  });
  return new EvaluationReport({
    newTokenLoss: counts.newCount > 0 ? counts.newLoss / counts.newCount : NaN,
    newTokenAccuracy: counts.newCount > 0 ? counts.newCorrect / counts.newCount : NaN,
    newTokenPositions: counts.newCount,
    loss: counts.count > 0 ? counts.loss / counts.count : NaN,
    accuracy: counts.count > 0 ? counts.correct / counts.count : NaN,
    positions: counts.count,
    ...plainFigures,
    plainTextPositions,
    emissions,
  });
}

export class EvaluationReport {
  constructor(readonly metrics: EvaluationMetrics) {}

  summary(): Table {
    const m = this.metrics;
    return new Table({
      title: "evaluation",
      columns: ["metric", "value"],
      rows: [
        ["new-token loss", m.newTokenLoss],
        ["new-token accuracy", m.newTokenAccuracy],
        ["new-token target positions", m.newTokenPositions],
        ["loss (all targets)", m.loss],
        ["accuracy (all targets)", m.accuracy],
      ],
    });
  }

  /** The plain-text figures: forgetting and stolen mass apart, then the full-softmax figures that mix them. */
  plainTextTable(): Table {
    const m = this.metrics;
    const which = m.newTokenMass.map((t) => `${t.token} ${t.mean.toPrecision(3)}`).join(", ");
    return new Table({
      title: `plain text (no new tokens, ${m.plainTextPositions} positions): forgetting vs mass taken by the new tokens`,
      columns: ["metric", "value", "meaning"],
      rows: [
        ["forgetting: KL(base ‖ model) over the base vocabulary", m.forgettingKl, "both renormalized without the new ids; 0 = nothing forgotten"],
        ["forgetting: perplexity over the base vocabulary", m.baseVocabPerplexity, "model renormalized without the new ids"],
        ["base model perplexity", m.basePerplexity, "the reference before training"],
        ["mass on new tokens, mean per position", m.newTokenMassMean, which ? `per token: ${which}` : ""],
        ["mass on new tokens, max per position", m.newTokenMassMax, ""],
        ["full softmax: perplexity", m.plainTextPerplexity, "new tokens included: forgetting + mass taken"],
        ["full softmax: KL(base ‖ model)", m.klToBase, "= forgetting KL + mean −log(1 − mass on new)"],
      ],
    });
  }

  emissionTable(): Table {
    return new Table({
      title: "emission of each new token (greedy at gold positions)",
      columns: ["token", "id", "support", "predicted", "precision", "recall", "F1"],
      rows: this.metrics.emissions.map((e) => [e.token, e.id, e.support, e.predicted, e.precision, e.recall, e.f1]),
    });
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const tables = [this.summary(), ...(this.metrics.plainTextPositions > 0 ? [this.plainTextTable()] : []), this.emissionTable()];
    return { "text/html": tables.map((t) => t.toHTML()).join("\n"), "text/plain": tables.map((t) => t.toString()).join("\n\n") };
  }
}

function toRows(model: CausalLM, data: EvalData, seqLen?: number): readonly PackedSequence[] {
  if (Array.isArray(data) && data.length > 0 && typeof data[0] === "object" && data[0] !== null && "labels" in data[0]) {
    return data as readonly PackedSequence[];
  }
  if (isTrainingData(data)) return data.eval.length > 0 ? data.eval : data.train;
  return prepareData(model.tokenizer, data as string | ReadonlyArray<string | Example>, { evalFraction: 0, seqLen }).train;
}

/**
 * Logits values one batch may hold: a batch keeps its logits [positions, vocabRows] (and the base
 * model's, for KL) while they are read a chunk of positions at a time, and the loss makes a softmax
 * of the same size; at a 128k–150k vocabulary eight rows of 64 positions would already be 260 MB
 * each, beside a model of 2.5 GB in a 4 GB wasm heap.
 */
const LOGITS_PER_BATCH = 2 ** 25;

/** `requested` rows per batch, fewer when their logits would exceed LOGITS_PER_BATCH (at least 1). */
export function rowsPerBatch(requested: number, seqLen: number, vocab: number): number {
  return Math.min(requested, rowsWithinBudget(LOGITS_PER_BATCH, seqLen * vocab));
}

/** Runs the model over `rows` and hands each batch's flat labels, per-position loss and argmax to `visit`. */
function forEachBatch(
  model: CausalLM,
  rows: readonly PackedSequence[],
  batchSize: number,
  visit: (labels: number[], nll: ArrayLike<number>, argmax: ArrayLike<number>) => void,
): void {
  for (let i = 0; i < rows.length; i += batchSize) {
    const { inputIds, attentionMask, labels, flatLabels } = batchTensors(rows.slice(i, i + batchSize));
    const [nll, argmax] = tf.tidy(() => {
      const logits = model.forward(model.weights, inputIds, attentionMask);
      return [crossEntropy(logits, labels).perPosition, tf.argMax(logits, -1)];
    });
    visit(flatLabels, nll.dataSync(), argmax.dataSync());
    tf.dispose([nll, argmax, inputIds, attentionMask, labels]);
  }
}

function noPlainText(newIds: readonly number[]): PlainTextEffects {
  return {
    positions: 0,
    plainTextPerplexity: NaN,
    klToBase: NaN,
    newTokenMassMean: NaN,
    newTokenMassMax: NaN,
    newTokenMass: newIds.map((id) => ({ id, token: "", mean: NaN, max: NaN })),
    baseVocabPerplexity: NaN,
    forgettingKl: NaN,
    basePerplexity: NaN,
  };
}
