import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { TokenlabError } from "../errors/tokenlab-error";

/** The parts of tfjs-backend-wasm's emscripten module the guard wraps and reads. */
interface GuardedModule {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  asm: { memory: WebAssembly.Memory; malloc(bytes: number): number };
  tokenlabHeapGuard?: true;
}

/**
 * tfjs-backend-wasm places every tensor where the module's malloc says and never checks the answer.
 * Near the end of the 4 GB wasm32 heap that answer can be 0 (tfjs then writes the tensor over
 * address 0) or a block that runs past the memory's end: the allocator's size arithmetic wraps at
 * 2^32, the next writes trap with "memory access out of bounds", and later allocations land inside
 * that block, overlapping live tensors. Both corrupt the heap silently (a 1.2B model's evaluation ran
 * on for minutes). The guard turns such an allocation into a clear error and gives the block back
 * (the allocator then still owns it, nothing overlaps).
 */
export function guardWasmHeap(backend: BackendWasm): void {
  const module = backend.wasm as unknown as GuardedModule;
  if (module.tokenlabHeapGuard) return;
  // The export itself: emscripten's _malloc stub replaces itself with it on its first call.
  const malloc = module.asm.malloc;
  module._malloc = (bytes: number): number => {
    const pointer = malloc(bytes) >>> 0;
    if (bytes > 0 && (pointer === 0 || pointer + bytes > module.asm.memory.buffer.byteLength)) {
      if (pointer !== 0) module._free(pointer);
      throw heapFull(bytes);
    }
    return pointer;
  };
  module.tokenlabHeapGuard = true;
}

function heapFull(bytes: number): TokenlabError {
  const gb = (n: number) => (n / 2 ** 30).toFixed(2);
  return new TokenlabError(
    `the wasm heap is full: no room for ${(bytes / 2 ** 20).toFixed(1)} MB more (tensors hold ${gb(tf.memory().numBytes)} GB; ` +
      `the wasm32 heap ends at 4 GB). Dispose of models and runs you no longer need (model.dispose(), run.dispose()), ` +
      `use fewer rows per batch, or load BF16 checkpoints 16-bit (loadModel(dir, { keepBf16: true }))`,
    { bytes },
  );
}
