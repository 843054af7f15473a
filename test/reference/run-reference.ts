import { execFileSync } from "node:child_process";
import * as path from "node:path";

/** One question for causal_lm_reference.py (PyTorch, float64). */
export interface ReferenceRequest {
  dir: string;
  ids: number[][];
  mask?: number[][] | null;
  /** Aligned targets per position, -100 = ignored; asks for the loss and gradients. */
  targets?: number[][] | null;
}

export interface ReferenceResult {
  logits: number[];
  loss: number | null;
  grads: Record<string, number[]> | null;
}

/** Runs the independent PyTorch reference once for a batch of requests (Debian's /usr/bin/python3). */
export function runReference(requests: ReferenceRequest[]): ReferenceResult[] {
  const script = path.join(__dirname, "causal_lm_reference.py");
  const output = execFileSync("/usr/bin/python3", [script], {
    input: JSON.stringify(requests),
    maxBuffer: 1 << 30,
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
  return JSON.parse(output.toString("utf8"));
}

/** Runs primitives_reference.py (PyTorch) for one request; see that script for the operations. */
export function runPrimitiveReference<T>(request: Record<string, unknown>): T {
  const script = path.join(__dirname, "primitives_reference.py");
  const output = execFileSync("/usr/bin/python3", [script], { input: JSON.stringify(request), maxBuffer: 1 << 28 });
  return JSON.parse(output.toString("utf8")) as T;
}

/** max|actual − expected| / max|expected|: the relative error the golden tests bound. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ expected ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}
