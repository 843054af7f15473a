import type { HfTokenizer } from "../../lib/hf/tokenizer";

/** Token windows as flat row-major arrays: inputs[b·T + t] predicts targets[b·T + t]. */
export interface WindowBatch {
  batchSize: number;
  sequenceLength: number;
  inputs: Int32Array;
  targets: Int32Array;
}

/**
 * All documents as one id stream, each preceded by the end-of-text token (it marks the document
 * boundary and gives the first word of every document a context to be predicted from).
 */
export function tokenStream(tokenizer: HfTokenizer, texts: string[], eosTokenId: number): Int32Array {
  const ids: number[] = [];
  for (const text of texts) {
    ids.push(eosTokenId);
    for (const id of tokenizer.encode(text)) ids.push(id);
  }
  return Int32Array.from(ids);
}

/** `batchSize` windows of T+1 tokens starting at uniformly drawn offsets (pretraining batches). */
export function randomWindows(stream: Int32Array, batchSize: number, sequenceLength: number, random: () => number): WindowBatch {
  const starts = Array.from({ length: batchSize }, () => Math.floor(random() * (stream.length - sequenceLength)));
  return windowsAt(stream, starts, sequenceLength);
}

/** Every token of the stream predicted exactly once: consecutive windows sharing one boundary token. */
export function consecutiveWindows(stream: Int32Array, sequenceLength: number, batchSize: number): WindowBatch[] {
  const starts: number[] = [];
  for (let start = 0; start + sequenceLength < stream.length; start += sequenceLength) starts.push(start);
  const batches: WindowBatch[] = [];
  for (let i = 0; i < starts.length; i += batchSize) batches.push(windowsAt(stream, starts.slice(i, i + batchSize), sequenceLength));
  return batches;
}

function windowsAt(stream: Int32Array, starts: number[], sequenceLength: number): WindowBatch {
  const inputs = new Int32Array(starts.length * sequenceLength);
  const targets = new Int32Array(starts.length * sequenceLength);
  starts.forEach((start, row) => {
    inputs.set(stream.subarray(start, start + sequenceLength), row * sequenceLength);
    targets.set(stream.subarray(start + 1, start + 1 + sequenceLength), row * sequenceLength);
  });
  return { batchSize: starts.length, sequenceLength, inputs, targets };
}
