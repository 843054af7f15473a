/**
 * Binary values in widget state travel as separate message buffers (widget protocol 2): each is
 * cut out of the JSON state and named by its path. A binary value under an object key is removed
 * from the object; one inside a list leaves `null` in its place, as the spec says.
 */

export type BufferPath = Array<string | number>;

export interface SplitState {
  state: Record<string, unknown>;
  bufferPaths: BufferPath[];
  buffers: Buffer[];
}

/** Buffers, typed arrays, DataViews and ArrayBuffers count as binary. */
function isBinary(value: unknown): value is Buffer | ArrayBufferView | ArrayBuffer {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

function toBuffer(value: ArrayBufferView | ArrayBuffer): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Splits `state` into JSON and buffers without modifying it (containers holding a buffer are copied). */
export function removeBuffers(state: Record<string, unknown>): SplitState {
  const bufferPaths: BufferPath[] = [];
  const buffers: Buffer[] = [];
  const walk = (value: unknown, path: BufferPath): unknown => {
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, i) => {
        if (isBinary(item)) {
          bufferPaths.push([...path, i]);
          buffers.push(toBuffer(item));
          (copy ??= [...value])[i] = null;
          return;
        }
        const inner = walk(item, [...path, i]);
        if (inner !== item) (copy ??= [...value])[i] = inner;
      });
      return copy ?? value;
    }
    if (typeof value === "object" && value !== null && !isBinary(value)) {
      let copy: Record<string, unknown> | undefined;
      for (const [key, item] of Object.entries(value)) {
        if (isBinary(item)) {
          bufferPaths.push([...path, key]);
          buffers.push(toBuffer(item));
          copy ??= { ...value };
          delete copy[key];
          continue;
        }
        const inner = walk(item, [...path, key]);
        if (inner !== item) (copy ??= { ...value })[key] = inner;
      }
      return copy ?? value;
    }
    return value;
  };
  return { state: walk(state, []) as Record<string, unknown>, bufferPaths, buffers };
}

/** Puts `buffers` back into `state` at `paths` (in place), the inverse of removeBuffers. */
export function putBuffers(state: Record<string, unknown>, paths: readonly BufferPath[], buffers: readonly Buffer[]): void {
  paths.forEach((path, i) => {
    let target: Record<string | number, unknown> = state;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
    target[path[path.length - 1]] = buffers[i];
  });
}

/** Structural equality of state values (JSON plus buffers), for "did this change?" checks. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isBinary(a) || isBinary(b)) return isBinary(a) && isBinary(b) && toBuffer(a).equals(toBuffer(b));
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
  }
  return false;
}
