import type { BackendName } from "../backend/init-backend";
import type { FloatDtype } from "../hf/safetensors";

/** loadModel's `keepBf16`: force 16-bit storage of a BF16 checkpoint's matrices on or off, or let tokenlab decide. */
export type KeepBf16 = boolean | "auto";
export const KEEP_BF16_CHOICES: readonly KeepBf16[] = [true, false, "auto"];

/**
 * "auto" keeps a BF16 checkpoint 16-bit when its weights as float32 would take more than this: half
 * the 4 GiB wasm32 heap, the other half being what activations, gradients and copies of a training
 * step need (a 0.6B model is 2.4 GB as float32, a 135M-class one 0.8 GB).
 */
export const AUTO_KEEP_BF16_ABOVE_BYTES = 2 * 1024 ** 3;

/** What the choice depends on: the active backend and the checkpoint's storage. */
export interface KeepBf16Facts {
  backend: BackendName;
  /** The dtype most of the checkpoint's weights are stored in. */
  dtype: FloatDtype;
  /** Bytes of every weight of the checkpoint as float32. */
  float32Bytes: number;
}

/**
 * Whether loadModel keeps the BF16 matrices packed (see packed-weights.ts). `true` and `false` force
 * it; "auto" keeps them on the wasm backend (the only one with the 16-bit kernels, and the only one
 * with a 4 GiB heap) when the checkpoint stores BF16 and its float32 weights exceed
 * AUTO_KEEP_BF16_ABOVE_BYTES. Smaller models stay float32: float32 all through and no rounding of
 * new or trained rows, at a size the heap holds.
 */
export function keepsBf16(choice: KeepBf16, facts: KeepBf16Facts): boolean {
  if (choice !== "auto") return choice;
  return facts.backend === "wasm" && facts.dtype === "BF16" && facts.float32Bytes > AUTO_KEEP_BF16_ABOVE_BYTES;
}

/** Bytes of tensors of these shapes as float32. */
export function float32BytesOf(shapes: Iterable<readonly number[]>): number {
  let elements = 0;
  for (const shape of shapes) elements += shape.reduce((a, b) => a * b, 1);
  return elements * 4;
}
