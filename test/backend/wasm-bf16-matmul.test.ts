import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { nativeBlasStatus, useNativeBlas } from "../../lib/backend/native-blas";
import { matMulBf16, matMulBf16NN, packedBf16Tensor, unpackBf16 } from "../../lib/backend/wasm-bf16-matmul";
import { bf16ToFloat32, float32ToBf16 } from "../../lib/hf/float-formats";
import { relativeError } from "../reference/run-reference";

/** Random bf16 bits of a [rows, cols] matrix and their exact float32 values. */
function randomBf16(rows: number, cols: number, seed: number): { bits: Uint16Array; values: Float32Array } {
  const values = tf.tidy(() => tf.randomNormal([rows, cols], 0, 1, "float32", seed).dataSync() as Float32Array);
  const bits = float32ToBf16(Float32Array.from(values));
  return { bits, values: bf16ToFloat32(bits) };
}

/** Largest difference relative to the largest reference value: sums of thousands of products reach ~150,
 * where float32 sums in another order (BLAS kernels differ by CPU) differ by ~1e-4. */
const relativeDifference = (a: tf.Tensor, b: tf.Tensor) => relativeError(a.dataSync(), b.dataSync());

describe("wasm BF16 packed-weight kernels", () => {
  before(() => initBackend("wasm"));
  after(() => useNativeBlas(true));

  // [m, k, n]: tile remainders, n beyond one chunk of rows (1024 in batch-matmul.c, 2048 in the native
  // bridge), and m ≤ 4, where the native bridge multiplies the BF16 bits directly (rows split over threads).
  for (const native of [true, false])
  for (const [m, k, n] of [[5, 6, 7], [9, 34, 2500], [1, 2, 3], [16, 64, 40], [3, 40, 2501], [1, 2048, 33]]) {
    it(`x·Wᵀ and its gradient dy·W equal float32 matMuls of the widened W (m ${m}, k ${k}, n ${n}, ${native ? "native BLAS" : "wasm kernel"})`, () => {
      useNativeBlas(native);
      assert.equal(nativeBlasStatus().active, native, JSON.stringify(nativeBlasStatus()));
      const { bits, values } = randomBf16(n, k, n + k);
      const packed = packedBf16Tensor(bits, n, k);
      const w = tf.tensor2d(values, [n, k]);
      const x = tf.randomNormal([m, k], 0, 1, "float32", m) as tf.Tensor2D;
      const dy = tf.randomNormal([m, n], 0, 1, "float32", m + 1) as tf.Tensor2D;
      assert.deepEqual(Array.from(unpackBf16(packed).dataSync()), Array.from(values));
      assert.ok(relativeDifference(matMulBf16(x, packed), tf.matMul(x, w, false, true)) < 1e-6);
      assert.ok(relativeDifference(matMulBf16NN(dy, packed), tf.matMul(dy, w)) < 1e-6);
      const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(matMulBf16(input, packed), dy)))(x);
      assert.ok(relativeDifference(grad, tf.matMul(dy, w)) < 1e-6);
      tf.dispose([packed, w, x, dy, grad]);
    });
  }

  it("gathers packed rows and unpacks them to the rows of the float32 matrix", () => {
    const { bits, values } = randomBf16(10, 8, 3);
    const packed = packedBf16Tensor(bits, 10, 8);
    const rows = unpackBf16(tf.gather(packed, tf.tensor2d([[3, 0], [9, 3]], [2, 2], "int32")));
    assert.deepEqual(rows.shape, [2, 2, 8]);
    const expected = tf.gather(tf.tensor2d(values, [10, 8]), tf.tensor2d([[3, 0], [9, 3]], [2, 2], "int32"));
    assert.equal(relativeDifference(rows, expected), 0);
  });

  it("refuses a float32 weight and odd widths with a clear error", () => {
    assert.throws(() => matMulBf16(tf.zeros([2, 4]), tf.zeros([3, 2])), /packed int32 weight/);
    assert.throws(() => packedBf16Tensor(new Uint16Array(6), 2, 3), /cannot pack \[2, 3\]/);
  });
});
