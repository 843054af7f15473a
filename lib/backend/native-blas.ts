import * as path from "node:path";

/**
 * Matrix products in a native BLAS (OpenBLAS) on tfjs-backend-wasm's heap, in place (see
 * native/blas-bridge.c). The wasm kernels run on one core at wasm SIMD speed; OpenBLAS uses every
 * core with kernels tuned for this CPU — the library PyTorch multiplies with here. Optional: when
 * the addon was not built (npm's install step needs a C compiler) or no OpenBLAS is installed,
 * tokenlab keeps its wasm kernels and `nativeBlasStatus()` says why.
 */
export interface NativeBlas {
  /** C_p [m, n] = op(A_p) · op(B_p), p < batch; offsets and strides in bytes on `heap`. */
  matmul(
    heap: ArrayBuffer, batch: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean,
    a: number, b: number, c: number, aStride: number, bStride: number,
  ): void;
  /** W [n, k] stored BF16: Y [m, n] = X [m, k] · Wᵀ when transposeW, else Y [m, k] = X [m, n] · W. */
  matmulBf16(heap: ArrayBuffer, transposeW: boolean, m: number, n: number, k: number, x: number, w: number, y: number): void;
  /** C [m, n] = op(A) · op(B) in float64 on JS arrays (row-major). */
  matmulFloat64(a: Float64Array, b: Float64Array, c: Float64Array, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean): void;
  /** The BLAS's thread count; with `count`, sets it first. */
  threads(count?: number): number;
}

interface Addon extends NativeBlas {
  load(library: string): string;
}

export type NativeBlasStatus =
  | { active: true; library: string; config: string; threads: number }
  | { active: false; reason: string };

/** Where ld.so, Debian's libopenblas0-pthread and a conda environment's libopenblas put the library. */
const CANDIDATES = [
  "libopenblas.so.0",
  ...(process.env.CONDA_PREFIX ? [path.join(process.env.CONDA_PREFIX, "lib", "libopenblas.so.0")] : []),
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "libopenblas.so",
  "libopenblas.dylib",
];

const ADDON = path.join(__dirname, "native", "build", "Release", "blas_bridge.node");

let loaded: { blas: NativeBlas | undefined; status: NativeBlasStatus } | undefined;
let enabled = true;

/**
 * The native BLAS, or undefined. TOKENLAB_BLAS=off disables it; TOKENLAB_BLAS=/path/libX.so picks
 * another CBLAS (MKL, BLIS, ...) instead of searching for OpenBLAS.
 */
export function nativeBlas(): NativeBlas | undefined {
  if (!enabled) return undefined;
  loaded ??= loadNativeBlas(process.env.TOKENLAB_BLAS);
  return loaded.blas;
}

/** Whether matrix products run in a native BLAS, which one, and if not, why. */
export function nativeBlasStatus(): NativeBlasStatus {
  if (!enabled) return { active: false, reason: "turned off by useNativeBlas(false)" };
  nativeBlas();
  return loaded!.status;
}

/** Sends products to the native BLAS when one loads (the default), or to the wasm kernels (false), e.g. to compare the two. */
export function useNativeBlas(on: boolean): void {
  enabled = on;
}

function loadNativeBlas(setting: string | undefined): { blas: NativeBlas | undefined; status: NativeBlasStatus } {
  const off = (reason: string) => ({ blas: undefined, status: { active: false as const, reason } });
  if (setting === "off" || setting === "0") return off("disabled by TOKENLAB_BLAS");
  let addon: Addon;
  try {
    addon = require(ADDON) as Addon;
  } catch (error) {
    return off(`the native bridge is not built (npm run build:native): ${(error as Error).message.split("\n")[0]}`);
  }
  const failures: string[] = [];
  for (const library of setting ? [setting] : CANDIDATES) {
    try {
      const config = addon.load(library).trim();
      return { blas: addon, status: { active: true, library, config, threads: addon.threads() } };
    } catch (error) {
      failures.push(`${library}: ${(error as Error).message}`);
    }
  }
  return off(`no OpenBLAS found (${failures.join("; ")}); on Debian: apt-get install libopenblas0-pthread`);
}
