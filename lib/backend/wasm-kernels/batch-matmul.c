/*
 * Batched float32 matrix multiply for tokenlab's wasm backend, compiled to WebAssembly SIMD by
 * build.sh. tfjs-backend-wasm sends every batched or transposed matMul to a scalar triple loop
 * (~1 GFLOP/s); attention is made of exactly those. This kernel tiles the output in 4×8 blocks
 * held in eight f32x4 registers.
 *
 * Layout: row-major; problem p multiplies A_p [m, k] by B_p [k, n] into C_p [m, n]. A_p starts at
 * a + p·a_stride (a_stride 0 broadcasts one A over all problems), likewise B.
 */
#include <stddef.h>
#include <wasm_simd128.h>

static void matmul_one(const float* A, const float* B, float* C, int m, int k, int n) {
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    const float* a0 = A + (size_t)i * k;
    const float* a1 = a0 + k;
    const float* a2 = a1 + k;
    const float* a3 = a2 + k;
    int j = 0;
    for (; j + 8 <= n; j += 8) {
      v128_t c00 = wasm_f32x4_splat(0), c01 = wasm_f32x4_splat(0);
      v128_t c10 = wasm_f32x4_splat(0), c11 = wasm_f32x4_splat(0);
      v128_t c20 = wasm_f32x4_splat(0), c21 = wasm_f32x4_splat(0);
      v128_t c30 = wasm_f32x4_splat(0), c31 = wasm_f32x4_splat(0);
      const float* b = B + j;
      for (int q = 0; q < k; q++, b += n) {
        v128_t b0 = wasm_v128_load(b);
        v128_t b1 = wasm_v128_load(b + 4);
        v128_t x0 = wasm_f32x4_splat(a0[q]);
        v128_t x1 = wasm_f32x4_splat(a1[q]);
        v128_t x2 = wasm_f32x4_splat(a2[q]);
        v128_t x3 = wasm_f32x4_splat(a3[q]);
        c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x0, b0));
        c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x0, b1));
        c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x1, b0));
        c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x1, b1));
        c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x2, b0));
        c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x2, b1));
        c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x3, b0));
        c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x3, b1));
      }
      float* c = C + (size_t)i * n + j;
      wasm_v128_store(c, c00);
      wasm_v128_store(c + 4, c01);
      wasm_v128_store(c + n, c10);
      wasm_v128_store(c + n + 4, c11);
      wasm_v128_store(c + 2 * n, c20);
      wasm_v128_store(c + 2 * n + 4, c21);
      wasm_v128_store(c + 3 * n, c30);
      wasm_v128_store(c + 3 * n + 4, c31);
    }
    for (; j < n; j++) {  // columns left over from the 8-wide tiles
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int q = 0; q < k; q++) {
        float bq = B[(size_t)q * n + j];
        s0 += a0[q] * bq;
        s1 += a1[q] * bq;
        s2 += a2[q] * bq;
        s3 += a3[q] * bq;
      }
      C[(size_t)i * n + j] = s0;
      C[(size_t)(i + 1) * n + j] = s1;
      C[(size_t)(i + 2) * n + j] = s2;
      C[(size_t)(i + 3) * n + j] = s3;
    }
  }
  for (; i < m; i++) {  // rows left over from the 4-high tiles
    const float* a = A + (size_t)i * k;
    float* c = C + (size_t)i * n;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      v128_t acc = wasm_f32x4_splat(0);
      for (int q = 0; q < k; q++) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_splat(a[q]), wasm_v128_load(B + (size_t)q * n + j)));
      wasm_v128_store(c + j, acc);
    }
    for (; j < n; j++) {
      float s = 0;
      for (int q = 0; q < k; q++) s += a[q] * B[(size_t)q * n + j];
      c[j] = s;
    }
  }
}

void batch_matmul(const float* a, const float* b, float* c, int batch, int m, int k, int n, int a_stride, int b_stride) {
  for (int p = 0; p < batch; p++) matmul_one(a + (size_t)p * a_stride, b + (size_t)p * b_stride, c + (size_t)p * m * n, m, k, n);
}

/* dst [batch, cols, rows] = transpose of src [batch, rows, cols] (for matMuls asked to transpose an input). */
void batch_transpose(const float* src, float* dst, int batch, int rows, int cols) {
  for (int p = 0; p < batch; p++) {
    const float* s = src + (size_t)p * rows * cols;
    float* d = dst + (size_t)p * rows * cols;
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) d[(size_t)c * rows + r] = s[(size_t)r * cols + c];
  }
}
