import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { BATCH_MATMUL_WASM_BASE64 } from "./wasm-kernels/batch-matmul-wasm";

interface KernelExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  batch_matmul(a: number, b: number, c: number, batch: number, m: number, k: number, n: number, aStride: number, bStride: number): void;
  batch_transpose(src: number, dst: number, batch: number, rows: number, cols: number): void;
}

let kernels: KernelExports | undefined;

function instance(): KernelExports {
  kernels ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(BATCH_MATMUL_WASM_BASE64, "base64"))).exports as unknown as KernelExports;
  return kernels;
}

/** Grows the kernel module's memory to hold `floats` float32 values after its heap base; returns that base. */
function reserve(k: KernelExports, floats: number): number {
  const base = k.__heap_base.value as number;
  const needed = base + floats * 4 - k.memory.buffer.byteLength;
  if (needed > 0) k.memory.grow(Math.ceil(needed / 65536));
  return base;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Replaces the wasm BatchMatMul kernel for the cases it computes with a scalar loop (any batch
 * > 1, any transposed input) by batch-matmul.c's SIMD kernel; batch-1 untransposed products keep
 * tfjs' XNNPACK path. Inputs are copied into the kernel module's memory and the result back: a
 * few MB per attention matMul, small next to the multiply itself.
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
    const fastPath = !transposeA && !transposeB && batchA === 1 && batchB === 1;
    const simpleBroadcast = batchA === batchB || batchA === 1 || batchB === 1;
    if (fastPath || !simpleBroadcast || a.dtype !== "float32" || b.dtype !== "float32") {
      return original.kernelFunc(args as never) as tf.TensorInfo;
    }
    const [aRows, aCols] = a.shape.slice(-2);
    const [bRows, bCols] = b.shape.slice(-2);
    const [m, k] = transposeA ? [aCols, aRows] : [aRows, aCols];
    const [k2, n] = transposeB ? [bCols, bRows] : [bRows, bCols];
    if (k !== k2) throw new Error(`matMul: inner dimensions ${k} and ${k2} of shapes [${a.shape}] and [${b.shape}] differ`);
    const outerShape = (batchA >= batchB ? a : b).shape.slice(0, -2);
    const batch = Math.max(batchA, batchB);

    const wasm = instance();
    const aSize = size(a.shape);
    const bSize = size(b.shape);
    // Layout in kernel memory: a, b, their transposes when asked for, then c.
    const base = reserve(wasm, 2 * aSize + 2 * bSize + batch * m * n);
    let aPtr = base;
    let bPtr = aPtr + aSize * 4;
    const scratch = bPtr + bSize * 4;
    const heap = new Float32Array(wasm.memory.buffer);
    heap.set(backend.typedArrayFromHeap(a) as Float32Array, aPtr / 4);
    heap.set(backend.typedArrayFromHeap(b) as Float32Array, bPtr / 4);
    let next = scratch;
    if (transposeA) {
      wasm.batch_transpose(aPtr, next, batchA, aRows, aCols);
      aPtr = next;
      next += aSize * 4;
    }
    if (transposeB) {
      wasm.batch_transpose(bPtr, next, batchB, bRows, bCols);
      bPtr = next;
      next += bSize * 4;
    }
    const cPtr = next;
    wasm.batch_matmul(aPtr, bPtr, cPtr, batch, m, k, n, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n);
    const out = backend.makeOutput([...outerShape, m, n], "float32");
    backend.typedArrayFromHeap(out).set(new Float32Array(wasm.memory.buffer, cPtr, batch * m * n));
    return out;
  };
  (kernelFunc as { tokenlab?: boolean }).tokenlab = true;
  tf.unregisterKernel(tf.BatchMatMul, "wasm");
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc });
}
