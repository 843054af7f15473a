import { TokenlabError } from "../../lib/errors/tokenlab-error";
import type { HfTokenizer } from "../../lib/hf/tokenizer";

export interface Neighbour {
  token: string;
  cosine: number;
}

/**
 * The `k` rows of an embedding [rows, hidden] (row-major) most cosine-similar to row `id`, itself
 * excluded, best first. Rows whose norm is zero (e.g. an untrained padding row) are skipped.
 */
export function nearestRows(embedding: Float32Array, hidden: number, id: number, k: number): Array<{ id: number; cosine: number }> {
  const rows = embedding.length / hidden;
  const norms = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    let sum = 0;
    for (let j = 0; j < hidden; j++) sum += embedding[row * hidden + j] ** 2;
    norms[row] = Math.sqrt(sum);
  }
  const scored: Array<{ id: number; cosine: number }> = [];
  for (let row = 0; row < rows; row++) {
    if (row === id || norms[row] === 0) continue;
    let dot = 0;
    for (let j = 0; j < hidden; j++) dot += embedding[row * hidden + j] * embedding[id * hidden + j];
    scored.push({ id: row, cosine: dot / (norms[row] * norms[id]) });
  }
  return scored.sort((a, b) => b.cosine - a.cosine).slice(0, k);
}

/**
 * Neighbours of a word as it appears mid-sentence (" man"), which must be a single token; results
 * are shown as text (the byte-level "Ġ" turned back into a space).
 */
export function wordNeighbours(tokenizer: HfTokenizer, embedding: Float32Array, hidden: number, word: string, k: number): Neighbour[] {
  const ids = tokenizer.encode(` ${word}`);
  if (ids.length !== 1) throw new TokenlabError(`" ${word}" is not a single token`, { word, ids });
  return nearestRows(embedding, hidden, ids[0], k).map(({ id, cosine }) => ({ token: readableToken(tokenizer, id), cosine }));
}

/** The token's text; a lone byte of a multi-byte character has none, so its byte-level symbol is shown. */
function readableToken(tokenizer: HfTokenizer, id: number): string {
  const text = tokenizer.decode([id]);
  return text.includes("\uFFFD") ? (tokenizer.idToToken(id) ?? text) : text;
}
