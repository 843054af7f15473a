import * as assert from "node:assert/strict";
import { nativeBlas, nativeBlasStatus, useNativeBlas } from "../../lib/backend/native-blas";

describe("native BLAS bridge", () => {
  after(() => useNativeBlas(true));

  it("loads OpenBLAS (npm ci builds the bridge; the test machines install libopenblas0-pthread)", () => {
    const status = nativeBlasStatus();
    assert.ok(status.active, JSON.stringify(status));
    assert.match(status.config, /^OpenBLAS /);
    assert.ok(status.threads >= 1);
  });

  it("multiplies in place on the buffer it is given, transposes included", () => {
    const heap = new Float32Array(64);
    heap.set([1, 2, 3, 4, 5, 6], 0); // A [2, 3] at byte 0
    heap.set([1, 0, 0, 1, 1, 1], 8); // B [3, 2] at byte 32
    nativeBlas()!.matmul(heap.buffer, 1, 2, 2, 3, false, false, 0, 32, 128, 0, 0);
    assert.deepEqual(Array.from(heap.subarray(32, 36)), [4, 5, 10, 11]);
    // Aᵀ·A with A [2, 3] stored once: C [3, 3].
    nativeBlas()!.matmul(heap.buffer, 1, 3, 3, 2, true, false, 0, 0, 192, 0, 0);
    assert.deepEqual(Array.from(heap.subarray(48, 57)), [17, 22, 27, 22, 29, 36, 27, 36, 45]);
  });

  it("multiplies float64 arrays of JS memory (a PCA's covariance), transposes included", () => {
    const a = Float64Array.from([1, 2, 3, 4, 5, 6]); // [2, 3]
    const c = new Float64Array(9);
    nativeBlas()!.matmulFloat64(a, a, c, 3, 3, 2, true, false); // Aᵀ·A
    assert.deepEqual(Array.from(c), [17, 22, 27, 22, 29, 36, 27, 36, 45]);
    const v = new Float64Array(2);
    nativeBlas()!.matmulFloat64(a, Float64Array.from([1, 0, 1]), v, 2, 1, 3, false, false);
    assert.deepEqual(Array.from(v), [4, 10]);
    assert.throws(() => nativeBlas()!.matmulFloat64(a, a, new Float64Array(8), 3, 3, 2, true, false), /smaller than the shapes/);
    assert.throws(() => nativeBlas()!.matmulFloat64(a, a, new Float32Array(9) as unknown as Float64Array, 3, 3, 2, true, false), /must be Float64Arrays/);
  });

  it("refuses operands outside the buffer and wrong calls with an error instead of touching memory", () => {
    const blas = nativeBlas()!;
    assert.throws(() => blas.matmul(new ArrayBuffer(32), 1, 4, 4, 4, false, false, 0, 0, 0, 0, 0), /operands outside the heap/);
    assert.throws(() => blas.matmulBf16(new ArrayBuffer(32), true, 4, 4, 4, 0, 0, 0), /operands outside the heap/);
    assert.throws(() => (blas.matmul as unknown as (...args: unknown[]) => void)(new ArrayBuffer(32), 1), /takes 12 arguments/);
  });

  it("can be turned off, and then says so", () => {
    useNativeBlas(false);
    assert.equal(nativeBlas(), undefined);
    assert.deepEqual(nativeBlasStatus(), { active: false, reason: "turned off by useNativeBlas(false)" });
  });
});
