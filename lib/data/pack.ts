import { IGNORE_INDEX } from "../train/cross-entropy";
import type { TokenizedExample } from "./tokenize-example";
import { appendAll } from "../runtime/large-arrays";

export { IGNORE_INDEX };

/**
 * One training row of fixed length. `labels[t]` is the token position t must predict (the next
 * token, already shifted) or IGNORE_INDEX; `attentionMask[t]` is 0 on padding.
 */
export interface PackedSequence {
  inputIds: number[];
  labels: number[];
  attentionMask: number[];
}

/**
 * Packs examples into rows of `seqLen` inputs (GPT-style): the examples are concatenated, each
 * followed by `separatorId` (usually EOS, itself a target) when given, and the stream is cut into
 * windows of seqLen + 1 tokens that overlap by one, so every token except the very first is a
 * target exactly once. Rows attend across example boundaries (standard packing). The last partial
 * row is padded with `padId`, attention 0 and label IGNORE_INDEX.
 */
export function packExamples(
  examples: readonly TokenizedExample[],
  options: { seqLen: number; separatorId?: number; padId?: number },
): PackedSequence[] {
  const { seqLen } = options;
  const padId = options.padId ?? options.separatorId ?? 0;
  const ids: number[] = [];
  const isTarget: boolean[] = [];
  for (const example of examples) {
    appendAll(ids, example.ids);
    appendAll(isTarget, example.lossMask);
    if (options.separatorId !== undefined) {
      ids.push(options.separatorId);
      // The separator is a target only when the example's last token was (e.g. not after a masked prompt).
      isTarget.push(example.lossMask.length === 0 ? false : example.lossMask[example.lossMask.length - 1]);
    }
  }
  const rows: PackedSequence[] = [];
  for (let start = 0; start + 1 < ids.length; start += seqLen) {
    const inputIds: number[] = [];
    const labels: number[] = [];
    const attentionMask: number[] = [];
    for (let t = 0; t < seqLen; t++) {
      const here = start + t;
      if (here < ids.length) {
        inputIds.push(ids[here]);
        labels.push(here + 1 < ids.length && isTarget[here + 1] ? ids[here + 1] : IGNORE_INDEX);
        attentionMask.push(1);
      } else {
        inputIds.push(padId);
        labels.push(IGNORE_INDEX);
        attentionMask.push(0);
      }
    }
    rows.push({ inputIds, labels, attentionMask });
  }
  return rows;
}
