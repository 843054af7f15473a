/*
 * Batched float32 matrix multiply for tokenlab's wasm backend, compiled to WebAssembly SIMD by
 * build.sh. tfjs-backend-wasm sends every batched or transposed matMul to a scalar triple loop
 * (~1 GFLOP/s); attention is made of exactly those. This kernel tiles the output in 4×8 blocks
 * held in eight f32x4 registers.
 *
 * Layout: row-major; problem p multiplies A_p [m, k] by B_p [k, n] (or B_p [n, k] transposed) into
 * C_p [m, n]. A_p starts at a + p·a_stride (a_stride 0 broadcasts one A over all problems), likewise B.
 *
 * The module imports tfjs-backend-wasm's memory and works on the tensors where they lie: no operand
 * is copied. It must therefore never touch memory it was not given: no static data, no C stack
 * (build.sh checks that the output does not use __stack_pointer).
 */
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

/* C [m, n] (row stride ldc) = A [m, k] · B [k, n] (row stride ldb). */
static void matmul_one(const float* A, const float* B, float* C, int m, int k, int n, int ldb, int ldc) {
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
      for (int q = 0; q < k; q++, b += ldb) {
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
      float* c = C + (size_t)i * ldc + j;
      wasm_v128_store(c, c00);
      wasm_v128_store(c + 4, c01);
      wasm_v128_store(c + ldc, c10);
      wasm_v128_store(c + ldc + 4, c11);
      wasm_v128_store(c + 2 * ldc, c20);
      wasm_v128_store(c + 2 * ldc + 4, c21);
      wasm_v128_store(c + 3 * ldc, c30);
      wasm_v128_store(c + 3 * ldc + 4, c31);
    }
    for (; j < n; j++) {  // columns left over from the 8-wide tiles
      float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int q = 0; q < k; q++) {
        float bq = B[(size_t)q * ldb + j];
        s0 += a0[q] * bq;
        s1 += a1[q] * bq;
        s2 += a2[q] * bq;
        s3 += a3[q] * bq;
      }
      C[(size_t)i * ldc + j] = s0;
      C[(size_t)(i + 1) * ldc + j] = s1;
      C[(size_t)(i + 2) * ldc + j] = s2;
      C[(size_t)(i + 3) * ldc + j] = s3;
    }
  }
  for (; i < m; i++) {  // rows left over from the 4-high tiles
    const float* a = A + (size_t)i * k;
    float* c = C + (size_t)i * ldc;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      v128_t acc = wasm_f32x4_splat(0);
      for (int q = 0; q < k; q++) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_splat(a[q]), wasm_v128_load(B + (size_t)q * ldb + j)));
      wasm_v128_store(c + j, acc);
    }
    for (; j < n; j++) {
      float s = 0;
      for (int q = 0; q < k; q++) s += a[q] * B[(size_t)q * ldb + j];
      c[j] = s;
    }
  }
}

/* dst [cols, rows] = transpose of src [rows, cols] whose rows are `lds` floats apart. */
static void transpose(const float* src, float* dst, int rows, int cols, int lds) {
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) dst[(size_t)c * rows + r] = src[(size_t)r * lds + c];
}

/*
 * A·B for each problem; with b_transposed, B_p is [n, k] and is transposed `chunk` rows at a time
 * into `scratch` (k·chunk floats), so a [151936, 576] tied head never needs a transposed copy.
 */
void batch_matmul(const float* a, const float* b, float* c, int batch, int m, int k, int n, int a_stride, int b_stride,
                  int b_transposed, float* scratch, int chunk) {
  for (int p = 0; p < batch; p++) {
    const float* A = a + (size_t)p * a_stride;
    const float* B = b + (size_t)p * b_stride;
    float* C = c + (size_t)p * m * n;
    if (!b_transposed) {
      matmul_one(A, B, C, m, k, n, n, n);
      continue;
    }
    for (int j = 0; j < n; j += chunk) {
      int width = n - j < chunk ? n - j : chunk;
      transpose(B + (size_t)j * k, scratch, width, k, k);
      matmul_one(A, scratch, C + j, m, k, width, width, n);
    }
  }
}

/* dst [batch, cols, rows] = transpose of src [batch, rows, cols] (for matMuls asked to transpose A). */
void batch_transpose(const float* src, float* dst, int batch, int rows, int cols) {
  for (int p = 0; p < batch; p++) transpose(src + (size_t)p * rows * cols, dst + (size_t)p * rows * cols, rows, cols, cols);
}

/*
 * Frozen BF16 weights (see lib/backend/wasm-bf16-matmul.ts): W [n, k] (Hugging Face's nn.Linear
 * [out, in] layout) stays 16-bit on the heap; blocks of it are widened to float32 in scratch and
 * multiplied there, so products accumulate in float32 and no float32 copy of W ever exists whole.
 * A bf16 value is the top half of a float32, so widening is a shift.
 */
static inline float bf16(uint16_t bits) {
  union { uint32_t u; float f; } v = { (uint32_t)bits << 16 };
  return v.f;
}

/* y [m, n] = x [m, k] · Wᵀ: `chunk` rows of W at a time are widened and transposed into scratch (k·chunk floats). */
void bf16_matmul_nt(const float* x, const uint16_t* w, float* y, int m, int k, int n, float* scratch, int chunk) {
  for (int j = 0; j < n; j += chunk) {
    int width = n - j < chunk ? n - j : chunk;
    for (int r = 0; r < width; r++) {
      const uint16_t* row = w + (size_t)(j + r) * k;
      for (int q = 0; q < k; q++) scratch[(size_t)q * width + r] = bf16(row[q]);
    }
    matmul_one(x, scratch, y + j, m, k, width, width, n);
  }
}

/* y [m, k] = x [m, n] · W: `chunk` columns of W at a time are widened into scratch (n·chunk floats). */
void bf16_matmul_nn(const float* x, const uint16_t* w, float* y, int m, int n, int k, float* scratch, int chunk) {
  for (int j = 0; j < k; j += chunk) {
    int width = k - j < chunk ? k - j : chunk;
    for (int q = 0; q < n; q++) {
      const uint16_t* row = w + (size_t)q * k + j;
      float* out = scratch + (size_t)q * width;
      for (int c = 0; c < width; c++) out[c] = bf16(row[c]);
    }
    matmul_one(x, scratch, y + j, m, n, width, width, k);
  }
}

/* dst [count] float32 = src [count] bf16. */
void bf16_unpack(const uint16_t* src, float* dst, int count) {
  for (int i = 0; i < count; i++) dst[i] = bf16(src[i]);
}
