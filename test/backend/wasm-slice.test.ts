import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";

/** Counts the backend's readSync calls (each copies a whole tensor out of the wasm heap) while `body` runs. */
function readSyncCalls(body: () => void): number {
  const backend = tf.backend() as unknown as { readSync(dataId: unknown): unknown };
  const readSync = backend.readSync;
  let calls = 0;
  backend.readSync = function (this: unknown, dataId: unknown) {
    calls++;
    return readSync.call(this, dataId);
  };
  try {
    body();
  } finally {
    backend.readSync = readSync;
  }
  return calls;
}

describe("wasm Slice", () => {
  before(() => initBackend("wasm"));
  after(() => initBackend());

  it("gives tfjs' values for contiguous and strided slices of every dtype", () => {
    const values = Array.from({ length: 60 }, (_, i) => i - 20);
    const cases: [number[], number[]][] = [
      [[2, 0, 0], [2, -1, -1]], // rows: contiguous
      [[1, 1, 0], [1, 2, 5]], // within one row block: contiguous
      [[0, 1, 1], [4, 2, 3]], // strided
      [[3, 2, 4], [1, 1, 1]], // one element
      [[2, 0, 0], [0, 3, 5]], // empty
    ];
    for (const dtype of ["float32", "int32", "bool"] as const) {
      const x = tf.tensor3d(values, [4, 3, 5], dtype);
      for (const [begin, size] of cases) {
        const all = x.arraySync() as unknown[][][];
        const end = begin.map((b, axis) => b + (size[axis] === -1 ? x.shape[axis] - b : size[axis]));
        const expected = all.slice(begin[0], end[0]).map((plane) => plane.slice(begin[1], end[1]).map((row) => row.slice(begin[2], end[2])));
        const sliced = tf.slice(x, begin, size);
        assert.equal(sliced.dtype, dtype);
        assert.deepEqual(sliced.arraySync(), expected, `${dtype} slice ${begin} ${size}`);
        sliced.dispose();
      }
      x.dispose();
    }
  });

  it("copies a block of rows within the heap instead of reading the whole input out of it first", () => {
    const matrix = tf.randomNormal([4096, 64], 0, 1, "float32", 7);
    let rows: tf.Tensor | undefined;
    assert.equal(readSyncCalls(() => (rows = tf.slice(matrix, [1000, 0], [24, -1]))), 0);
    assert.deepEqual(Array.from(rows!.dataSync()), Array.from(matrix.dataSync().subarray(1000 * 64, 1024 * 64)));
    tf.dispose([matrix, rows!]);
  });
});
