/*
 * tokenlab's bridge from tfjs-backend-wasm's heap to a native BLAS (OpenBLAS).
 *
 * The wasm backend keeps every tensor in one WebAssembly.Memory, which JavaScript sees as an
 * ArrayBuffer. A Node addon can read and write that buffer in place, so a matrix product can run in
 * OpenBLAS — multi-threaded, with kernels tuned for this CPU, the same library PyTorch uses here —
 * on the tensors where they lie: no operand is copied. The library is found with dlopen at run time,
 * so building needs no BLAS headers and a machine without OpenBLAS still loads the addon (and tokenlab
 * keeps its wasm kernels).
 *
 * Offsets are byte offsets into the heap, as tfjs-backend-wasm reports them (memoryOffset).
 */
#include <dlfcn.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc);
typedef void (*dgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, double alpha, const double* a, int lda,
                         const double* b, int ldb, double beta, double* c, int ldc);
typedef char* (*config_fn)(void);
typedef int (*get_threads_fn)(void);
typedef void (*set_threads_fn)(int);

static sgemm_fn sgemm;
static dgemm_fn dgemm;
static config_fn blas_config;
static get_threads_fn blas_get_threads;
static set_threads_fn blas_set_threads;
static char library_path[1024];

/* Rows of a BF16 weight widened to float32 at a time (k·BF16_ROWS floats: 16 MB at k = 2048). */
#define BF16_ROWS 2048
/* Up to this many rows of X (a generation step feeds one), x·Wᵀ reads W's BF16 bits directly:
 * widening all of W to multiply it by a few rows moves 5× the bytes of the product itself. */
#define DIRECT_ROWS 4
/* Threads of the direct product (the machines we target have 2–16 cores). */
#define DIRECT_THREADS_MAX 16

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, NULL, "tokenlab blas bridge: " #call " failed"); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

static napi_value throw_error(napi_env env, const char* message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* The base pointer and length of the heap: an ArrayBuffer or a typed array over one. */
static int heap_of(napi_env env, napi_value value, uint8_t** base, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok) return 0;
  if (is_typed) {
    napi_typedarray_type type;
    size_t elements, byte_offset;
    napi_value buffer;
    void* data;
    if (napi_get_typedarray_info(env, value, &type, &elements, &data, &buffer, &byte_offset) != napi_ok) return 0;
    napi_get_arraybuffer_info(env, buffer, NULL, length);
    *base = (uint8_t*)data - byte_offset;
    return 1;
  }
  void* data;
  if (napi_get_arraybuffer_info(env, value, &data, length) != napi_ok) return 0;
  *base = data;
  return 1;
}

static int64_t int_arg(napi_env env, napi_value value) {
  int64_t result = 0;
  napi_get_value_int64(env, value, &result);
  return result;
}

/* load(path): opens the BLAS at `path` (a file name dlopen resolves, or a full path). Returns its config string. */
static napi_value load(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_error(env, "load(path) needs the library's path");
  size_t length;
  CHECK(napi_get_value_string_utf8(env, argv[0], library_path, sizeof library_path, &length));
  void* handle = dlopen(library_path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) return throw_error(env, dlerror());
  sgemm_fn found = (sgemm_fn)dlsym(handle, "cblas_sgemm");
  if (!found) {
    dlclose(handle);
    return throw_error(env, "the library has no cblas_sgemm");
  }
  sgemm = found;
  dgemm = (dgemm_fn)dlsym(handle, "cblas_dgemm");
  blas_config = (config_fn)dlsym(handle, "openblas_get_config");
  blas_get_threads = (get_threads_fn)dlsym(handle, "openblas_get_num_threads");
  blas_set_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
  napi_value result;
  CHECK(napi_create_string_utf8(env, blas_config ? blas_config() : "unknown BLAS", NAPI_AUTO_LENGTH, &result));
  return result;
}

/* threads(): the BLAS's thread count (0 when it cannot tell); threads(n) sets it first. */
static napi_value threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1 && blas_set_threads) blas_set_threads((int)int_arg(env, argv[0]));
  napi_value result;
  CHECK(napi_create_int32(env, blas_get_threads ? blas_get_threads() : 0, &result));
  return result;
}

/* A product's `count` arguments, the first the heap; on a wrong call throws a JS error and returns 0. */
static int product_args(napi_env env, napi_callback_info info, const char* name, size_t count, napi_value* argv, uint8_t** heap,
                        size_t* heap_bytes) {
  size_t argc = count;
  char message[160];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count) {
    snprintf(message, sizeof message, "%s takes %zu arguments", name, count);
  } else if (!sgemm) {
    snprintf(message, sizeof message, "%s: no BLAS loaded", name);
  } else if (!heap_of(env, argv[0], heap, heap_bytes)) {
    snprintf(message, sizeof message, "%s: the heap must be an ArrayBuffer or a typed array", name);
  } else {
    return 1;
  }
  napi_throw_error(env, NULL, message);
  return 0;
}

/*
 * matmul(heap, batch, m, n, k, transposeA, transposeB, a, b, c, aStride, bStride):
 * C_p [m, n] = op(A_p) · op(B_p) for p < batch, row-major, A_p at a + p·aStride bytes (a stride of 0
 * broadcasts one operand), C_p packed one after another.
 */
static napi_value matmul(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  uint8_t* heap;
  size_t heap_bytes;
  if (!product_args(env, info, "matmul", 12, argv, &heap, &heap_bytes)) return NULL;
  int64_t batch = int_arg(env, argv[1]), m = int_arg(env, argv[2]), n = int_arg(env, argv[3]), k = int_arg(env, argv[4]);
  bool trans_a, trans_b;
  napi_get_value_bool(env, argv[5], &trans_a);
  napi_get_value_bool(env, argv[6], &trans_b);
  int64_t a = int_arg(env, argv[7]), b = int_arg(env, argv[8]), c = int_arg(env, argv[9]);
  int64_t a_stride = int_arg(env, argv[10]), b_stride = int_arg(env, argv[11]);
  int64_t last_a = a + (batch - 1) * a_stride + m * k * 4, last_b = b + (batch - 1) * b_stride + k * n * 4;
  if (batch < 0 || m < 0 || n < 0 || k < 0 || a < 0 || b < 0 || c < 0 || (uint64_t)last_a > heap_bytes ||
      (uint64_t)last_b > heap_bytes || (uint64_t)(c + batch * m * n * 4) > heap_bytes) {
    return throw_error(env, "matmul: operands outside the heap");
  }
  for (int64_t p = 0; p < batch; p++) {
    sgemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS, trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, (int)m, (int)n,
          (int)k, 1.0f, (const float*)(heap + a + p * a_stride), trans_a ? (int)m : (int)k,
          (const float*)(heap + b + p * b_stride), trans_b ? (int)k : (int)n, 0.0f, (float*)(heap + c + p * m * n * 4),
          (int)n);
  }
  return NULL;
}

/* BF16 bits to float32: the bf16 value is the upper half of the float32. */
static void widen_bf16(const uint16_t* src, float* dst, size_t count) {
  uint32_t* out = (uint32_t*)dst;
  for (size_t i = 0; i < count; i++) out[i] = (uint32_t)src[i] << 16;
}

/* Y[:, j0 : j1] = X · W[j0 : j1]ᵀ from the BF16 bits of W [n, k]; X [m, k], Y [m, n]. */
typedef struct {
  const float* x;
  const uint16_t* w;
  float* y;
  int64_t m, n, k, j0, j1;
} direct_part;

static void* direct_product(void* arg) {
  const direct_part* p = arg;
  enum { LANES = 16 }; /* independent sums, so the compiler can vectorize the dot product */
  for (int64_t j = p->j0; j < p->j1; j++) {
    const uint16_t* row = p->w + j * p->k;
    for (int64_t i = 0; i < p->m; i++) {
      const float* xi = p->x + i * p->k;
      float lanes[LANES] = {0};
      int64_t c = 0;
      for (; c + LANES <= p->k; c += LANES) {
        for (int l = 0; l < LANES; l++) {
          uint32_t bits = (uint32_t)row[c + l] << 16;
          float value;
          memcpy(&value, &bits, sizeof value);
          lanes[l] += xi[c + l] * value;
        }
      }
      float sum = 0;
      for (; c < p->k; c++) {
        uint32_t bits = (uint32_t)row[c] << 16;
        float value;
        memcpy(&value, &bits, sizeof value);
        sum += xi[c] * value;
      }
      for (int l = 0; l < LANES; l++) sum += lanes[l];
      p->y[i * p->n + j] = sum;
    }
  }
  return NULL;
}

/* The direct product on as many threads as the BLAS uses, each on its own rows of W. */
static void direct_product_threaded(const float* x, const uint16_t* w, float* y, int64_t m, int64_t n, int64_t k) {
  int count = blas_get_threads ? blas_get_threads() : 1;
  if (count > DIRECT_THREADS_MAX) count = DIRECT_THREADS_MAX;
  if (count > n) count = (int)n;
  if (count < 1) count = 1;
  direct_part parts[DIRECT_THREADS_MAX];
  pthread_t threads[DIRECT_THREADS_MAX];
  int started[DIRECT_THREADS_MAX] = {0};
  for (int t = 0; t < count; t++) {
    parts[t] = (direct_part){x, w, y, m, n, k, n * t / count, n * (t + 1) / count};
    /* The calling thread takes part 0; a thread that cannot start has its part done here too. */
    if (t > 0) started[t] = pthread_create(&threads[t], NULL, direct_product, &parts[t]) == 0;
  }
  direct_product(&parts[0]);
  for (int t = 1; t < count; t++) {
    if (started[t]) pthread_join(threads[t], NULL);
    else direct_product(&parts[t]);
  }
}

/*
 * matmulBf16(heap, transposeW, m, n, k, x, w, y): with W [n, k] stored BF16 (row-major),
 * transposeW: Y [m, n] = X [m, k] · Wᵀ (nn.Linear, the tied head); otherwise Y [m, k] = X [m, n] · W.
 * W is widened BF16_ROWS rows at a time into native scratch memory, never on the wasm heap; for a
 * few rows of X, x·Wᵀ multiplies W's bits directly instead.
 */
static napi_value matmul_bf16(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  uint8_t* heap;
  size_t heap_bytes;
  if (!product_args(env, info, "matmulBf16", 8, argv, &heap, &heap_bytes)) return NULL;
  bool transpose_w;
  napi_get_value_bool(env, argv[1], &transpose_w);
  int64_t m = int_arg(env, argv[2]), n = int_arg(env, argv[3]), k = int_arg(env, argv[4]);
  int64_t x = int_arg(env, argv[5]), w = int_arg(env, argv[6]), y = int_arg(env, argv[7]);
  int64_t x_bytes = m * (transpose_w ? k : n) * 4, y_bytes = m * (transpose_w ? n : k) * 4;
  if (m < 0 || n < 0 || k < 0 || x < 0 || w < 0 || y < 0 || (uint64_t)(x + x_bytes) > heap_bytes ||
      (uint64_t)(w + n * k * 2) > heap_bytes || (uint64_t)(y + y_bytes) > heap_bytes) {
    return throw_error(env, "matmulBf16: operands outside the heap");
  }
  if (transpose_w && m <= DIRECT_ROWS) {
    direct_product_threaded((const float*)(heap + x), (const uint16_t*)(heap + w), (float*)(heap + y), m, n, k);
    return NULL;
  }
  int64_t rows = n < BF16_ROWS ? n : BF16_ROWS;
  float* scratch = malloc((size_t)(rows > 0 ? rows : 1) * (size_t)k * sizeof(float));
  if (!scratch) return throw_error(env, "matmulBf16: out of native memory for scratch");
  const float* X = (const float*)(heap + x);
  float* Y = (float*)(heap + y);
  if (!transpose_w) memset(Y, 0, (size_t)y_bytes);
  for (int64_t j0 = 0; j0 < n; j0 += BF16_ROWS) {
    int64_t block = n - j0 < BF16_ROWS ? n - j0 : BF16_ROWS;
    widen_bf16((const uint16_t*)(heap + w) + j0 * k, scratch, (size_t)(block * k));
    if (transpose_w) {
      /* Y[:, j0 : j0+block] = X · blockᵀ */
      sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, (int)m, (int)block, (int)k, 1.0f, X, (int)k, scratch, (int)k, 0.0f,
            Y + j0, (int)n);
    } else {
      /* Y += X[:, j0 : j0+block] · block */
      sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int)m, (int)k, (int)block, 1.0f, X + j0, (int)n, scratch,
            (int)k, 1.0f, Y, (int)k);
    }
  }
  free(scratch);
  return NULL;
}

/* The elements of a Float64Array, or 0 (with a JS error thrown) for anything else. */
static int float64_array(napi_env env, napi_value value, double** data, size_t* length) {
  bool is_typed = false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t byte_offset;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, (void**)data, &buffer, &byte_offset) != napi_ok ||
      type != napi_float64_array) {
    napi_throw_error(env, NULL, "matmulFloat64: operands must be Float64Arrays");
    return 0;
  }
  return 1;
}

/*
 * matmulFloat64(a, b, c, m, n, k, transposeA, transposeB): C [m, n] = op(A) · op(B) in float64,
 * row-major, on three Float64Arrays of JS memory (statistics such as a PCA's covariance).
 */
static napi_value matmul_float64(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 8) return throw_error(env, "matmulFloat64 takes 8 arguments");
  if (!dgemm) return throw_error(env, "matmulFloat64: the BLAS has no cblas_dgemm");
  double *a, *b, *c;
  size_t a_length, b_length, c_length;
  if (!float64_array(env, argv[0], &a, &a_length) || !float64_array(env, argv[1], &b, &b_length) ||
      !float64_array(env, argv[2], &c, &c_length)) {
    return NULL;
  }
  int64_t m = int_arg(env, argv[3]), n = int_arg(env, argv[4]), k = int_arg(env, argv[5]);
  bool trans_a, trans_b;
  napi_get_value_bool(env, argv[6], &trans_a);
  napi_get_value_bool(env, argv[7], &trans_b);
  if (m < 0 || n < 0 || k < 0 || (uint64_t)(m * k) > a_length || (uint64_t)(k * n) > b_length || (uint64_t)(m * n) > c_length) {
    return throw_error(env, "matmulFloat64: the arrays are smaller than the shapes");
  }
  dgemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS, trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, (int)m, (int)n, (int)k,
        1.0, a, trans_a ? (int)m : (int)k, b, trans_b ? (int)k : (int)n, 0.0, c, (int)n);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, threads, NULL, NULL, NULL, napi_default, NULL},
      {"matmul", NULL, matmul, NULL, NULL, NULL, napi_default, NULL},
      {"matmulBf16", NULL, matmul_bf16, NULL, NULL, NULL, napi_default, NULL},
      {"matmulFloat64", NULL, matmul_float64, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
