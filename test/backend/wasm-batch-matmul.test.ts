import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { nativeBlasStatus, useNativeBlas } from "../../lib/backend/native-blas";

/** [a shape, b shape, transposeA, transposeB]: tile remainders, broadcasting, every transpose combination. */
const CASES: Array<[number[], number[], boolean, boolean]> = [
  [[8, 16, 24], [8, 24, 32], false, false],
  [[3, 5, 7], [3, 7, 9], false, false],
  [[2, 3, 5, 7], [1, 7, 11], false, false],
  [[1, 5, 7], [4, 7, 3], false, false],
  [[4, 9, 6], [4, 10, 6], false, true],
  [[4, 6, 9], [4, 6, 10], true, false],
  [[2, 6, 9], [2, 10, 6], true, true],
  [[13, 5], [3, 5], false, true],
  [[6, 7], [2500, 7], false, true], // B transposed in 1024-row chunks, with a remainder chunk
  [[2, 7, 6], [2, 2100, 7], true, true],
];

for (const native of [true, false]) {
  describe(`wasm batched matMul kernel, ${native ? "in the native BLAS" : "in batch-matmul.c"}`, () => {
    before(() => {
      useNativeBlas(native);
      // The native path must really be there (npm ci builds it; CI installs OpenBLAS), not silently skipped.
      assert.equal(nativeBlasStatus().active, native, JSON.stringify(nativeBlasStatus()));
    });
    after(async () => {
      useNativeBlas(true);
      await initBackend();
    });

    it("equals the cpu backend for batched, broadcast and transposed products", async () => {
      const run = async (name: "cpu" | "wasm") => {
        await initBackend(name);
        return CASES.map(([as, bs, ta, tb], i) =>
          tf.tidy(() => Array.from(tf.matMul(tf.randomNormal(as, 0, 1, "float32", i + 1), tf.randomNormal(bs, 0, 1, "float32", 100 + i), ta, tb).dataSync())),
        );
      };
      const expected = await run("cpu");
      const actual = await run("wasm");
      CASES.forEach((c, i) => {
        assert.equal(actual[i].length, expected[i].length);
        const error = Math.max(...actual[i].map((v, j) => Math.abs(v - expected[i][j])));
        assert.ok(error < 1e-5, `${JSON.stringify(c)}: max error ${error}`);
      });
    });
  });
}
