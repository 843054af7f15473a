import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
// tfjs-core ships gradients separately; the umbrella @tensorflow/tfjs registers them, we must too.
import "@tensorflow/tfjs-core/dist/register_all_gradients";
// Method chaining (x.reshape(...)) for notebook users, as the umbrella package provides.
import "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops";
import { TokenlabError } from "../errors/tokenlab-error";
import { registerWasmBf16Kernels } from "./wasm-bf16-matmul";
import { registerWasmBatchMatMul } from "./wasm-batch-matmul";
import { errorListeners, replaceWasmErrorListeners } from "./wasm-error-listeners";
import { registerWasmSharedIdentity } from "./wasm-identity";
import { registerWasmHeapSlice } from "./wasm-slice";
import { guardWasmHeap } from "./wasm-heap-guard";
import { registerWasmTrainingKernels } from "./wasm-unsorted-segment-sum";

/** Backends tokenlab can run on, fastest first. */
export const BACKEND_NAMES = ["node-gpu", "node", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** How each backend is loaded and which tfjs backend name it registers. */
const BACKENDS: Record<BackendName, { module: string; tfjsName: string }> = {
  "node-gpu": { module: "@tensorflow/tfjs-node-gpu", tfjsName: "tensorflow" },
  node: { module: "@tensorflow/tfjs-node", tfjsName: "tensorflow" },
  wasm: { module: "@tensorflow/tfjs-backend-wasm", tfjsName: "wasm" },
  cpu: { module: "@tensorflow/tfjs-backend-cpu", tfjsName: "cpu" },
};

let active: BackendName | undefined;

/**
 * Selects the compute backend: `name`, else env TOKENLAB_BACKEND, else the first of
 * node-gpu, node, wasm, cpu that loads. An explicit choice that cannot load is an error (no silent
 * fallback). Registers the kernels training needs that the backend lacks. Returns the active name.
 * On wasm, replaces the glue's process error listeners (see wasm-error-listeners.ts) so an uncaught
 * error prints its own message and stack, not the module's minified source.
 */
export async function initBackend(name?: BackendName): Promise<BackendName> {
  const requested = name ?? parseBackendName(process.env.TOKENLAB_BACKEND);
  if (requested !== undefined) {
    const failure = await tryBackend(requested);
    if (failure) throw new TokenlabError(`backend "${requested}" could not be loaded: ${failure}`, { backend: requested });
    return requested;
  }
  const failures: string[] = [];
  for (const candidate of BACKEND_NAMES) {
    const failure = await tryBackend(candidate);
    if (!failure) return candidate;
    failures.push(`${candidate}: ${failure}`);
  }
  throw new TokenlabError(`no tfjs backend could be loaded (${failures.join("; ")})`);
}

/** The active backend's name (after `initBackend`). */
export function backend(): BackendName {
  if (active === undefined) throw new TokenlabError("no backend initialized yet; call `await initBackend()` first");
  return active;
}

/** Initializes the default backend unless one was chosen already; returns the active name. */
export async function ensureBackend(): Promise<BackendName> {
  return active ?? initBackend();
}

/** Returns undefined on success, otherwise why the backend could not be used. */
async function tryBackend(name: BackendName): Promise<string | undefined> {
  const { module, tfjsName } = BACKENDS[name];
  try {
    // Optional native packages are absent on most machines; require lazily so a miss is a skip.
    require(module);
  } catch (error) {
    return `package ${module} is not installed or failed to load (${(error as Error).message.split("\n")[0]})`;
  }
  if (name === "wasm") {
    registerWasmTrainingKernels();
    registerWasmBatchMatMul();
    registerWasmSharedIdentity();
    registerWasmHeapSlice();
    registerWasmBf16Kernels();
  }
  const listeners = errorListeners();
  try {
    if (!(await tf.setBackend(tfjsName))) return `tfjs could not initialize backend "${tfjsName}"`;
    await tf.ready();
    if (name === "wasm") guardWasmHeap(tf.backend() as BackendWasm);
  } catch (error) {
    return (error as Error).message;
  } finally {
    if (name === "wasm") replaceWasmErrorListeners(listeners);
  }
  active = name;
  return undefined;
}

function parseBackendName(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === "") return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new TokenlabError(`TOKENLAB_BACKEND="${value}" is not one of ${BACKEND_NAMES.join(", ")}`, { value });
}
