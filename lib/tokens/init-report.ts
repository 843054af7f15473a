import * as tf from "@tensorflow/tfjs-core";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { Table } from "../display/table";
import type { CausalLM } from "../models/causal-lm";
import { matrixRowReader } from "../models/model-rows";
import { forEachPositionChunk, tokenLogProbs, widenColumns } from "../models/token-log-probs";
import { AddTokensError } from "./add-tokens-error";
import { AddTokensResult } from "./add-tokens-result";
import { untrainedRows } from "./untrained-rows";
import { appendAll, maxOf } from "../runtime/large-arrays";

export interface InitReportRow {
  variant: string;
  /** Ids the extended tokenizer has and the base tokenizer lacks. */
  newIds: number[];
  /** Tokens of the base tokenizer (V in Hewitt's bound). */
  baseVocab: number;
  positions: number;
  /** Probability mass the extended model puts on the new ids, mean and max over positions. */
  newMassMean: number;
  newMassMax: number;
  /** KL(p_base ‖ p_extended) in nats per position, mean and max. */
  klMean: number;
  klMax: number;
  /** Hewitt's bound log(1 + n/V) for mean-initialized rows. */
  klBound: number;
  /** All-zero token rows of the input embedding / untied head. */
  zeroRows: number[];
  /**
   * New ids whose input row is bit-identical to another NEW token's row: those tokens cannot be
   * told apart until training separates them (e.g. several tokens all given the mean). A copy of an
   * existing token's row is what `{from}` init intends and is not flagged.
   */
  duplicatedNewRows: number[];
}

/**
 * Hewitt's check right after initialization: on reference `texts` (tokenized by the BASE
 * tokenizer, so both models see the same ids), how much probability the extended model gives the
 * new tokens and how far its next-token distribution moved (KL(base ‖ extended) per position),
 * plus untrained-row checks. One row per variant.
 */
export function initReport(
  base: CausalLM,
  variants: CausalLM | AddTokensResult | Record<string, CausalLM | AddTokensResult>,
  texts: string[],
): InitReport {
  const named: Record<string, CausalLM | AddTokensResult> =
    variants instanceof AddTokensResult || isCausalLM(variants) ? { extended: variants } : variants;
  const sequences = texts.map((text) => base.tokenizer.encode(text).slice(0, base.config.maxPositionEmbeddings));
  if (sequences.every((ids) => ids.length === 0)) throw new AddTokensError("initReport needs at least one non-empty reference text");
  const rows = Object.entries(named).map(([variant, value]) =>
    reportRow(variant, base, value instanceof AddTokensResult ? value.model : value, sequences),
  );
  return new InitReport(rows);
}

function reportRow(variant: string, base: CausalLM, extended: CausalLM, sequences: number[][]): InitReportRow {
  const baseVocab = base.tokenizer.size;
  const tokenRows = extended.tokenizer.size;
  const newIds: number[] = [];
  for (let id = 0; id < tokenRows; id++) {
    if (base.tokenizer.idToToken(id) === undefined && extended.tokenizer.idToToken(id) !== undefined) newIds.push(id);
  }
  const kl: number[] = [];
  const mass: number[] = [];
  for (const ids of sequences.filter((s) => s.length > 0)) {
    const baseLogits = tf.tidy(() => base.logits([ids]).squeeze([0]) as tf.Tensor2D); // [L, baseRows]
    const extLogits = tf.tidy(() => extended.logits([ids]).squeeze([0]) as tf.Tensor2D); // [L, extRows]
    try {
      forEachPositionChunk([baseLogits, extLogits], ([baseChunk, extChunk]) => {
        // The base's log-probabilities widened to the extended rows: zero probability on the rows it lacks.
        const logPBase = tokenLogProbs(widenColumns(baseChunk, extChunk.shape[1]), base.tokenizer);
        const logPExt = tokenLogProbs(extChunk, extended.tokenizer);
        const perPosition = tf.sum(tf.mul(tf.exp(logPBase), tf.sub(logPBase, logPExt)), 1);
        appendAll(kl, perPosition.dataSync());
        if (newIds.length > 0) appendAll(mass, tf.sum(tf.gather(tf.exp(logPExt), newIds, 1), 1).dataSync());
        else appendAll(mass, new Float32Array(perPosition.shape[0]));
      });
    } finally {
      tf.dispose([baseLogits, extLogits]);
    }
  }
  const checks = (name: string) => untrainedRows(matrixRowReader(extended, name), tokenRows, extended.config.hiddenSize);
  const inputChecks = checks(extended.layout.embedding);
  const zeroRows = new Set(inputChecks.zero);
  if (extended.layout.head) checks(extended.layout.head).zero.forEach((id) => zeroRows.add(id));
  const newSet = new Set(newIds);
  const duplicatedNewRows = inputChecks.duplicated
    .map((ids) => ids.filter((id) => newSet.has(id)))
    .filter((newIds) => newIds.length > 1)
    .flat();
  return {
    variant,
    newIds,
    baseVocab,
    positions: kl.length,
    newMassMean: mean(mass),
    newMassMax: maxOf(mass),
    klMean: mean(kl),
    klMax: maxOf(kl),
    klBound: Math.log(1 + newIds.length / baseVocab),
    zeroRows: [...zeroRows].sort((a, b) => a - b),
    duplicatedNewRows,
  };
}

/** The table of `initReport`: one row per variant. */
export class InitReport {
  constructor(readonly rows: readonly InitReportRow[]) {}

  table(): Table {
    return new Table({
      title: "After init (Hewitt): KL(base ‖ extended) per position on the reference texts; bound log(1+n/V) holds for mean init",
      columns: ["variant", "new", "mass on new (mean)", "mass on new (max)", "KL mean", "KL max", "log(1+n/V)", "zero rows", "duplicated new rows"],
      rows: this.rows.map((r) => [
        r.variant,
        r.newIds.length,
        r.newMassMean,
        r.newMassMax,
        r.klMean,
        r.klMax,
        r.klBound,
        listIds(r.zeroRows),
        listIds(r.duplicatedNewRows),
      ]),
    });
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return this.table()[JUPYTER_DISPLAY]();
  }
}

function listIds(ids: number[]): string {
  if (ids.length === 0) return "none";
  return ids.length <= 8 ? ids.join(", ") : `${ids.slice(0, 8).join(", ")} … (${ids.length})`;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function isCausalLM(value: unknown): value is CausalLM {
  return typeof value === "object" && value !== null && "weights" in value && "tokenizer" in value && "layout" in value;
}
