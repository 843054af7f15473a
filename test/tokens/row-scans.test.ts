import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { packedBf16Tensor } from "../../lib/backend/wasm-bf16-matmul";
import { bf16ToFloat32, float32ToBf16 } from "../../lib/hf/float-formats";
import type { CausalLM } from "../../lib/models/causal-lm";
import { forEachRowChunk, matrixRowReader, ROW_CHUNK, tensorRowReader } from "../../lib/models/model-rows";
import { nearestRows } from "../../lib/tokens/nearest-tokens";
import { untrainedRows } from "../../lib/tokens/untrained-rows";

/** Scans over every row of a vocabulary-sized matrix run a chunk of rows at a time; these matrices span several chunks. */
const ROWS = ROW_CHUNK * 2 + 1234;
const HIDDEN = 8;

/** Brute-force cosine top-k in float64 over rows [0, candidateRows). */
function bruteNearest(values: Float32Array, candidateRows: number, query: Float32Array, k: number): number[] {
  const norm = (v: ArrayLike<number>) => Math.max(Math.hypot(...Array.from(v)), 1e-12);
  const q = norm(query);
  const scored = Array.from({ length: candidateRows }, (_, id) => {
    const row = values.subarray(id * HIDDEN, (id + 1) * HIDDEN);
    return { id, cosine: row.reduce((s, x, j) => s + x * query[j], 0) / (norm(row) * q) };
  });
  return scored.sort((a, b) => b.cosine - a.cosine).slice(0, k).map((s) => s.id);
}

describe("row scans over vocabulary-sized matrices (chunked)", () => {
  before(() => initBackend("wasm"));

  const random = (seed: number) => tf.tidy(() => tf.randomNormal([ROWS, HIDDEN], 0, 1, "float32", seed).dataSync() as Float32Array);

  for (const packed of [false, true]) {
    it(`nearestRows finds the brute-force cosine top-k across chunks (${packed ? "kept 16-bit" : "float32"})`, () => {
      const raw = random(1);
      const values = packed ? bf16ToFloat32(float32ToBf16(raw)) : raw;
      const matrix = packed ? packedBf16Tensor(float32ToBf16(raw), ROWS, HIDDEN) : tf.tensor2d(values, [ROWS, HIDDEN]);
      // Queries equal to rows in the first, second and last chunk: each must find itself first.
      const queryIds = [7, ROW_CHUNK + 11, ROWS - 3];
      const queries = tf.tensor2d(Float32Array.from(queryIds.flatMap((id) => Array.from(values.subarray(id * HIDDEN, (id + 1) * HIDDEN)))), [3, HIDDEN]);
      const before = tf.memory().numTensors;
      const found = nearestRows(tensorRowReader(matrix), ROWS - 1, queries, 4);
      assert.equal(tf.memory().numTensors, before);
      queryIds.forEach((id, i) => {
        const expected = bruteNearest(values, ROWS - 1, values.subarray(id * HIDDEN, (id + 1) * HIDDEN), 4);
        const ids = found[i].map((n) => n.id);
        if (id < ROWS - 1) assert.equal(ids[0], id);
        assert.deepEqual(ids, expected);
      });
      tf.dispose([matrix, queries]);
    });
  }

  it("matrixRowReader reads a model's added rows in place, also in later chunks and past the stored rows", () => {
    const values = random(3);
    const ids = [3, ROW_CHUNK + 1, ROWS, ROWS + 1]; // the last two lie past the stored matrix
    const added = random(4).subarray(0, ids.length * HIDDEN);
    const matrix = tf.tensor2d(values, [ROWS, HIDDEN]);
    const overlay = { ids, rows: tf.tensor2d(added, [ids.length, HIDDEN]) };
    const model = { weights: new Map([["embed", matrix]]), overlays: new Map([["embed", overlay]]) } as unknown as CausalLM;
    const expected = new Float32Array((ROWS + 2) * HIDDEN);
    expected.set(values);
    ids.forEach((id, j) => expected.set(added.subarray(j * HIDDEN, (j + 1) * HIDDEN), id * HIDDEN));
    const read = new Float32Array((ROWS + 2) * HIDDEN);
    forEachRowChunk(matrixRowReader(model, "embed"), ROWS + 2, (rows, start) => read.set(rows.dataSync(), start * HIDDEN));
    assert.deepEqual(read, expected);
    tf.dispose([matrix, overlay.rows]);
  });

  it("untrainedRows finds zero rows and duplicates that lie in different chunks", () => {
    const values = random(2);
    values.fill(0, 5 * HIDDEN, 6 * HIDDEN); // zero row in chunk 0
    values.fill(0, (ROW_CHUNK * 2 + 9) * HIDDEN, (ROW_CHUNK * 2 + 10) * HIDDEN); // and in the last chunk
    values.copyWithin((ROW_CHUNK + 4) * HIDDEN, 17 * HIDDEN, 18 * HIDDEN); // row ROW_CHUNK + 4 duplicates row 17
    const matrix = tf.tensor2d(values, [ROWS, HIDDEN]);
    const { zero, duplicated } = untrainedRows(tensorRowReader(matrix), ROWS, HIDDEN);
    assert.deepEqual(zero, [5, ROW_CHUNK * 2 + 9]);
    assert.deepEqual(duplicated, [[5, ROW_CHUNK * 2 + 9], [17, ROW_CHUNK + 4]]);
    matrix.dispose();
  });
});
