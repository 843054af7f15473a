import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { TokenlabError } from "../errors/tokenlab-error";
import { nativeBlas } from "./native-blas";
import { heapPointer, kernelsFor, withScratch, type TfjsWasmModule } from "./wasm-batch-matmul";

/**
 * Frozen weights kept as BF16 on the wasm heap ("packed"): an int32 tensor [rows, cols / 2] whose
 * every element holds two bf16 values (the lower 16 bits first, as the little-endian bytes of a
 * safetensors file lie). A float32 1.2B model needs 5 GB, more than the 4 GB wasm32 heap; packed
 * it needs 2.5 GB. These ops read packed weights in place and compute in float32: in the native BLAS
 * (native-blas.ts; W widened a block of rows at a time off the heap) when there is one, else in
 * batch-matmul.c.
 * Packed weights get no gradient: a weight that trains is unpacked to float32 first.
 */
const NT = "TokenlabBf16MatMulNT";
const NN = "TokenlabBf16MatMulNN";
const UNPACK = "TokenlabUnpackBf16";

/** Rows of W widened at a time by the NT product (k·CHUNK floats of scratch: 8 MB at k = 2048). */
const NT_CHUNK = 1024;
/** Scratch of the NN product, in floats: n · columns (16 MB, any n). */
const NN_SCRATCH_FLOATS = 2 ** 22;

/** x [m, k] · Wᵀ with W [n, k] packed as [n, k/2] → [m, n] (nn.Linear and the tied head). */
export function matMulBf16(x: tf.Tensor, packed: tf.Tensor): tf.Tensor2D {
  return tf.engine().runKernel(NT, { x, w: packed }) as tf.Tensor2D;
}

/** x [m, n] · W with W [n, k] packed as [n, k/2] → [m, k] (the gradient of matMulBf16). */
export function matMulBf16NN(x: tf.Tensor, packed: tf.Tensor): tf.Tensor2D {
  return tf.engine().runKernel(NN, { x, w: packed }) as tf.Tensor2D;
}

/** Packed int32 [..., c] → float32 [..., 2c]. */
export function unpackBf16(packed: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(UNPACK, { x: packed }) as tf.Tensor;
}

/** Packs BF16 bits (row-major [rows, cols], cols even) into an int32 tensor [rows, cols / 2]; copies nothing on the host. */
export function packedBf16Tensor(bits: Uint16Array, rows: number, cols: number): tf.Tensor2D {
  if (cols % 2 !== 0 || bits.length !== rows * cols || bits.byteOffset % 4 !== 0) {
    throw new TokenlabError(`cannot pack [${rows}, ${cols}] bf16 values (${bits.length} given) into pairs`, { rows, cols });
  }
  return tf.tensor2d(new Int32Array(bits.buffer, bits.byteOffset, bits.length / 2), [rows, cols / 2], "int32");
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown };

function heap(args: KernelArgs) {
  const backend = args.backend as BackendWasm;
  const module = backend.wasm as unknown as TfjsWasmModule;
  return { backend, module, kernels: kernelsFor(module), pointer: heapPointer(backend) };
}

function checkOperands(name: string, x: tf.TensorInfo, w: tf.TensorInfo, inner: number): void {
  if (x.shape.length !== 2 || w.shape.length !== 2 || x.dtype !== "float32" || w.dtype !== "int32" || x.shape[1] !== inner) {
    throw new TokenlabError(`${name}: expected float32 x [m, ${inner}] and a packed int32 weight, got ${x.dtype} [${x.shape}] and ${w.dtype} [${w.shape}]`);
  }
}

function matMulNT(args: KernelArgs): tf.TensorInfo {
  const { x, w } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
  const [n, half] = w.shape;
  const k = half * 2;
  checkOperands("matMulBf16", x, w, k);
  const m = x.shape[0];
  const { backend, module, kernels, pointer } = heap(args);
  const out = backend.makeOutput([m, n], "float32");
  const blas = nativeBlas();
  if (blas) {
    blas.matmulBf16(module.asm.memory.buffer as ArrayBuffer, true, m, n, k, pointer(x), pointer(w), pointer(out));
    return out;
  }
  const chunk = Math.min(NT_CHUNK, n);
  withScratch(module, k * chunk * 4, `matMulBf16 [${x.shape}]·[${n}, ${k}]ᵀ`, (scratch) =>
    kernels.bf16_matmul_nt(pointer(x), pointer(w), pointer(out), m, k, n, scratch, chunk),
  );
  return out;
}

function matMulNN(args: KernelArgs): tf.TensorInfo {
  const { x, w } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
  const [n, half] = w.shape;
  const k = half * 2;
  checkOperands("matMulBf16NN", x, w, n);
  const m = x.shape[0];
  const { backend, module, kernels, pointer } = heap(args);
  const out = backend.makeOutput([m, k], "float32");
  const blas = nativeBlas();
  if (blas) {
    blas.matmulBf16(module.asm.memory.buffer as ArrayBuffer, false, m, n, k, pointer(x), pointer(w), pointer(out));
    return out;
  }
  const chunk = Math.min(k, Math.max(8, Math.floor(NN_SCRATCH_FLOATS / n / 8) * 8));
  withScratch(module, n * chunk * 4, `matMulBf16NN [${x.shape}]·[${n}, ${k}]`, (scratch) =>
    kernels.bf16_matmul_nn(pointer(x), pointer(w), pointer(out), m, n, k, scratch, chunk),
  );
  return out;
}

function unpack(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype !== "int32") throw new TokenlabError(`unpackBf16: expected a packed int32 tensor, got ${x.dtype} [${x.shape}]`);
  const { backend, kernels, pointer } = heap(args);
  const shape = [...x.shape.slice(0, -1), x.shape[x.shape.length - 1] * 2];
  const out = backend.makeOutput(shape, "float32");
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > 0) kernels.bf16_unpack(pointer(x), pointer(out), count);
  return out;
}

const frozen = (): never => {
  throw new TokenlabError("a packed BF16 weight is frozen and has no gradient; unpack it to float32 (unpackedWeight) before training it");
};

/** Registers the kernels (wasm only) and their gradients (with respect to x; W is frozen). */
export function registerWasmBf16Kernels(): void {
  if (tf.getKernel(NT, "wasm")) return;
  tf.registerKernel({ kernelName: NT, backendName: "wasm", kernelFunc: matMulNT as tf.KernelFunc });
  tf.registerKernel({ kernelName: NN, backendName: "wasm", kernelFunc: matMulNN as tf.KernelFunc });
  tf.registerKernel({ kernelName: UNPACK, backendName: "wasm", kernelFunc: unpack as tf.KernelFunc });
  tf.registerGradient({
    kernelName: NT,
    inputsToSave: ["w"],
    gradFunc: (dy, saved) => ({ x: () => matMulBf16NN(dy as tf.Tensor, saved[0]), w: frozen }),
  });
  tf.registerGradient({
    kernelName: NN,
    inputsToSave: ["w"],
    gradFunc: (dy, saved) => ({ x: () => matMulBf16(dy as tf.Tensor, saved[0]), w: frozen }),
  });
  tf.registerGradient({ kernelName: UNPACK, gradFunc: () => ({ x: frozen }) });
}
