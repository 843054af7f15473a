import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { TokenlabError } from "../errors/tokenlab-error";

/** The parts of tfjs-backend-wasm's emscripten module the guard wraps and reads. */
interface GuardedModule {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  asm: { memory: WebAssembly.Memory; malloc(bytes: number): number; free(pointer: number): void };
}

/** What the guard knows of a module's heap: the blocks JS allocated (tensors, scratch) and their sizes. */
interface HeapBlocks {
  sizes: Map<number, number>;
  bytes: number;
}

const blocksByModule = new WeakMap<GuardedModule, HeapBlocks>();

/**
 * tfjs-backend-wasm places every tensor where the module's malloc says and never checks the answer.
 * Near the end of the 4 GB wasm32 heap that answer can be 0 (tfjs then writes the tensor over
 * address 0) or a block that runs past the memory's end: the allocator's size arithmetic wraps at
 * 2^32, the next writes trap with "memory access out of bounds", and later allocations land inside
 * that block, overlapping live tensors. Both corrupt the heap silently (a 1.2B model's evaluation ran
 * on for minutes). The guard turns such an allocation into a clear error and gives the block back
 * (the allocator then still owns it, nothing overlaps). It also counts the bytes of the blocks it
 * handed out (tf.memory().numBytes counts a buffer once per tensor sharing it): see wasmHeapRoom.
 */
export function guardWasmHeap(backend: BackendWasm): void {
  const module = backend.wasm as unknown as GuardedModule;
  if (blocksByModule.has(module)) return;
  const blocks: HeapBlocks = { sizes: new Map(), bytes: 0 };
  blocksByModule.set(module, blocks);
  // The exports themselves: emscripten's _malloc / _free stubs replace themselves with them on first call.
  const { malloc, free } = module.asm;
  module._malloc = (bytes: number): number => {
    const pointer = malloc(bytes) >>> 0;
    if (bytes > 0 && (pointer === 0 || pointer + bytes > module.asm.memory.buffer.byteLength)) {
      if (pointer !== 0) free(pointer);
      throw heapFull(bytes, blocks.bytes);
    }
    blocks.sizes.set(pointer, bytes);
    blocks.bytes += bytes;
    return pointer;
  };
  module._free = (pointer: number): void => {
    const at = pointer >>> 0;
    blocks.bytes -= blocks.sizes.get(at) ?? 0;
    blocks.sizes.delete(at);
    free(pointer);
  };
}

/** The wasm32 heap's end: no tensor memory lies beyond it, whatever the machine has. */
const WASM32_HEAP_BYTES = 2 ** 32;

/**
 * The most the wasm heap can still give, in bytes: its 4 GB less the blocks tensors (and scratch)
 * hold now — less still in practice (the module's own data, fragmentation) — or undefined off the
 * wasm backend. Work that surely needs more can refuse at once instead of failing partway.
 */
export function wasmHeapRoom(): number | undefined {
  if (tf.getBackend() !== "wasm") return undefined;
  const blocks = blocksByModule.get((tf.backend() as BackendWasm).wasm as unknown as GuardedModule);
  return blocks === undefined ? undefined : WASM32_HEAP_BYTES - blocks.bytes;
}

export const gigabytes = (bytes: number): string => (bytes / 2 ** 30).toFixed(2);

function heapFull(bytes: number, held: number): TokenlabError {
  return new TokenlabError(
    `the wasm heap is full: no room for ${(bytes / 2 ** 20).toFixed(1)} MB more (tensors hold ${gigabytes(held)} GB; ` +
      `the wasm32 heap ends at 4 GB). Dispose of models and runs you no longer need (model.dispose(), run.dispose()), ` +
      `use fewer rows per batch, or load BF16 checkpoints 16-bit (loadModel(dir, { keepBf16: true }))`,
    { bytes },
  );
}
