import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { TokenlabError } from "../errors/tokenlab-error";
import { nativeBlas } from "./native-blas";
import { BATCH_MATMUL_WASM_BASE64 } from "./wasm-kernels/batch-matmul-wasm";

export interface KernelExports {
  batch_matmul(
    a: number, b: number, c: number, batch: number, m: number, k: number, n: number, aStride: number, bStride: number,
    bTransposed: number, scratch: number, chunk: number,
  ): void;
  batch_transpose(src: number, dst: number, batch: number, rows: number, cols: number): void;
  bf16_matmul_nt(x: number, w: number, y: number, m: number, k: number, n: number, scratch: number, chunk: number): void;
  bf16_matmul_nn(x: number, w: number, y: number, m: number, n: number, k: number, scratch: number, chunk: number): void;
  bf16_unpack(src: number, dst: number, count: number): void;
}

/** The emscripten module of tfjs-backend-wasm, as far as this kernel uses it. */
export interface TfjsWasmModule {
  asm: { memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/** Rows of a transposed B transposed at a time (k·CHUNK floats of scratch: 2.25 MB at k = 576). */
const CHUNK = 1024;
/**
 * XNNPACK (tfjs' path for plain products) keeps a packed copy of every B it sees, keyed by tensor.
 * For layer weights that is the price of its speed; for an embedding-sized B (the tied head in the
 * backward pass, 350 MB at 151,936 × 576) the copy costs more memory than the speed is worth.
 */
const XNNPACK_MAX_B_BYTES = 64 * 2 ** 20;

const kernelsByMemory = new WeakMap<WebAssembly.Memory, KernelExports>();

/** The kernel module instantiated on tfjs' own heap (once per heap). */
/** Where a tensor's data lies on tfjs' heap (our kernels read and write it in place). */
export function heapPointer(backend: BackendWasm): (t: tf.TensorInfo) => number {
  return (t) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

/** Runs `body` with `bytes` of scratch on tfjs' heap. */
export function withScratch(module: TfjsWasmModule, bytes: number, what: string, body: (scratch: number) => void): void {
  const scratch = module._malloc(bytes + 16);
  if (scratch === 0) throw new TokenlabError(`${what}: the wasm heap has no room for ${bytes} bytes of scratch memory`);
  try {
    body(scratch);
  } finally {
    module._free(scratch);
  }
}

export function kernelsFor(module: TfjsWasmModule): KernelExports {
  const memory = module.asm.memory;
  let kernels = kernelsByMemory.get(memory);
  if (!kernels) {
    const compiled = new WebAssembly.Module(Buffer.from(BATCH_MATMUL_WASM_BASE64, "base64"));
    kernels = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as KernelExports;
    kernelsByMemory.set(memory, kernels);
  }
  return kernels;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Replaces the wasm BatchMatMul kernel. With a native BLAS (native-blas.ts) every float32 product
 * runs there, in place on tfjs' heap, on all cores. Without one, the cases tfjs computes with a
 * scalar loop (any batch > 1, any transposed input) and products with an embedding-sized B run in
 * batch-matmul.c's SIMD kernel, also in place: operands are read where they lie and the result is
 * written into the output tensor; only a transposed A (activations) and k·1024 floats of B at a
 * time are transposed into scratch memory.
 */
export function registerWasmBatchMatMul(): void {
  const original = tf.getKernel(tf.BatchMatMul, "wasm");
  if (!original || (original.kernelFunc as { tokenlab?: boolean }).tokenlab) return;
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const batchA = size(a.shape.slice(0, -2));
    const batchB = size(b.shape.slice(0, -2));
    const simpleBroadcast = batchA === batchB || batchA === 1 || batchB === 1;
    if (!simpleBroadcast || a.dtype !== "float32" || b.dtype !== "float32") {
      return original.kernelFunc(args as never) as tf.TensorInfo;
    }
    const [aRows, aCols] = a.shape.slice(-2);
    const [bRows, bCols] = b.shape.slice(-2);
    const [m, k] = transposeA ? [aCols, aRows] : [aRows, aCols];
    const [k2, n] = transposeB ? [bCols, bRows] : [bRows, bCols];
    if (k !== k2) throw new Error(`matMul: inner dimensions ${k} and ${k2} of shapes [${a.shape}] and [${b.shape}] differ`);
    const outerShape = (batchA >= batchB ? a : b).shape.slice(0, -2);
    const batch = Math.max(batchA, batchB);
    const blas = nativeBlas();
    const fastPath = !transposeA && !transposeB && batchA === 1 && batchB === 1 && size(b.shape) * 4 <= XNNPACK_MAX_B_BYTES;
    if ((fastPath && !blas) || m * n * k === 0) return original.kernelFunc(args as never) as tf.TensorInfo;

    const module = backend.wasm as unknown as TfjsWasmModule;
    const out = backend.makeOutput([...outerShape, m, n], "float32");
    const pointer = heapPointer(backend);
    if (blas) {
      // After makeOutput: a heap that grew is a new ArrayBuffer.
      blas.matmul(
        module.asm.memory.buffer as ArrayBuffer, batch, m, n, k, transposeA, transposeB, pointer(a), pointer(b), pointer(out),
        batchA === 1 ? 0 : m * k * 4, batchB === 1 ? 0 : k * n * 4,
      );
      return out;
    }
    const kernels = kernelsFor(module);
    // Scratch: the transposed A, then CHUNK rows of the transposed B.
    const aScratchBytes = transposeA ? size(a.shape) * 4 : 0;
    withScratch(module, aScratchBytes + (transposeB ? k * Math.min(CHUNK, n) * 4 : 0), `matMul [${a.shape}]·[${b.shape}]`, (scratch) => {
      let aPtr = pointer(a);
      if (transposeA) {
        kernels.batch_transpose(aPtr, scratch, batchA, aRows, aCols);
        aPtr = scratch;
      }
      kernels.batch_matmul(
        aPtr, pointer(b), pointer(out), batch, m, k, n, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n,
        transposeB ? 1 : 0, scratch + aScratchBytes, CHUNK,
      );
    });
    return out;
  };
  (kernelFunc as { tokenlab?: boolean }).tokenlab = true;
  tf.unregisterKernel(tf.BatchMatMul, "wasm");
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc });
}
