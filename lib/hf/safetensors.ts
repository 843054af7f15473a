import * as fs from "node:fs";
import * as path from "node:path";
import { TokenlabError } from "../errors/tokenlab-error";
import { bf16ToFloat32, f16ToFloat32, float32ToBf16, float32ToF16 } from "./float-formats";

/** Float dtypes tokenlab reads and writes; all are computed in float32. */
export type FloatDtype = "F32" | "F16" | "BF16";
const BYTES_PER_ELEMENT: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };
export const FLOAT_DTYPES = Object.keys(BYTES_PER_ELEMENT) as FloatDtype[];

/** Own keys only: `"constructor" in BYTES_PER_ELEMENT` is true, and must not pass as a dtype. */
export function isFloatDtype(value: unknown): value is FloatDtype {
  return typeof value === "string" && Object.hasOwn(BYTES_PER_ELEMENT, value);
}

/** Bytes one element of `dtype` takes on disk. */
export function bytesPerElement(dtype: FloatDtype): number {
  return BYTES_PER_ELEMENT[dtype];
}

/** One tensor of a safetensors file. */
export interface SafetensorsEntry {
  dtype: FloatDtype;
  shape: number[];
  /** The tensor's bytes as stored (little-endian `dtype` values). */
  raw: Uint8Array;
  /**
   * The values as float32, converted from `raw` on every read (a view for F32): a 16-bit
   * checkpoint is held at its own size until a caller widens one tensor at a time.
   */
  readonly data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface ReadSafetensorsOptions {
  /** Read only these tensors (default: all). The whole header is still validated. */
  only?: Iterable<string>;
}

/** Bytes read per fs.readSync call: Node refuses single reads of 2 GiB or more. */
const READ_CHUNK_BYTES = 2 ** 30;
/**
 * Largest tensor tokenlab reads, measured as the float32 array it becomes: 4 GiB (1 Gi elements),
 * Node 20's largest Buffer, and far beyond any single tensor a tfjs model computes with.
 */
const MAX_TENSOR_FLOAT32_BYTES = 2 ** 32;

/**
 * Parses a safetensors file (https://huggingface.co/docs/safetensors: u64 little-endian header
 * length, JSON header, then the tensor bytes). Every inconsistency is an error naming the file and
 * the tensor, never a silently wrong tensor. The file is read piecewise (header, then each tensor at
 * its offset), so files larger than Node's 2 GiB whole-file read limit load as well.
 */
export function readSafetensors(
  file: string,
  options: ReadSafetensorsOptions = {},
): { tensors: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  const fail = (message: string, context: Record<string, unknown> = {}) =>
    new TokenlabError(`${file}: ${message}`, { file, ...context });
  const fd = fs.openSync(file, "r");
  try {
    const fileSize = fs.fstatSync(fd).size;
    if (fileSize < 8) throw fail(`truncated safetensors file (${fileSize} bytes, no header length)`);
    const headerLength = Number(readAt(fd, 0, 8, file).readBigUInt64LE(0));
    if (8 + headerLength > fileSize) {
      throw fail(`header length ${headerLength} is larger than the file (${fileSize} bytes)`, { headerLength });
    }
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(readAt(fd, 8, headerLength, file).toString("utf8"));
    } catch (cause) {
      throw fail(`header is not valid JSON: ${(cause as Error).message}`);
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) throw fail("header is not a JSON object");
    const dataStart = 8 + headerLength;
    const dataLength = fileSize - dataStart;
    const entries = new Map<string, { dtype: FloatDtype; shape: number[]; begin: number; end: number }>();
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(header)) {
      if (name === "__metadata__") {
        metadata = value as Record<string, string>;
        continue;
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw fail(`tensor ${name} has a malformed header entry ${JSON.stringify(value)} (expected {dtype, shape, data_offsets})`, { tensor: name });
      }
      const entry = value as HeaderEntry;
      if (!isFloatDtype(entry.dtype)) {
        throw fail(`tensor ${name} has dtype ${entry.dtype}; only F32, F16 and BF16 are supported`, { tensor: name });
      }
      const dtype = entry.dtype;
      const [begin, end] = entry.data_offsets ?? [];
      if (!Array.isArray(entry.shape) || !Number.isInteger(begin) || !Number.isInteger(end)) {
        throw fail(`tensor ${name} has a malformed header entry`, { tensor: name });
      }
      const count = entry.shape.reduce((a, b) => a * b, 1);
      if (end - begin !== count * BYTES_PER_ELEMENT[dtype]) {
        throw fail(`tensor ${name}: ${end - begin} bytes do not hold shape [${entry.shape}] of ${dtype}`, { tensor: name });
      }
      if (begin < 0 || end > dataLength) {
        throw fail(`tensor ${name} lies beyond the end of the file (truncated?)`, { tensor: name, end, dataLength });
      }
      entries.set(name, { dtype, shape: entry.shape, begin, end });
    }
    const tensors = new Map<string, SafetensorsEntry>();
    for (const name of options.only ?? entries.keys()) {
      const entry = entries.get(name);
      if (entry === undefined) throw fail(`has no tensor ${name}`, { tensor: name });
      const float32Bytes = ((entry.end - entry.begin) / BYTES_PER_ELEMENT[entry.dtype]) * 4;
      if (float32Bytes > MAX_TENSOR_FLOAT32_BYTES) {
        throw fail(`tensor ${name} [${entry.shape}] is too large: ${float32Bytes} bytes as float32, tokenlab holds at most ${MAX_TENSOR_FLOAT32_BYTES}`, {
          tensor: name,
        });
      }
      const raw = readAt(fd, dataStart + entry.begin, entry.end - entry.begin, file);
      const { dtype, shape } = entry;
      tensors.set(name, { dtype, shape, raw, get data() { return toFloat32(raw, dtype); } });
    }
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `length` bytes at `position` of an open file. The buffer is its own allocation (never a slice of
 * Node's shared pool), so it starts at byte offset 0 and typed arrays over it are aligned.
 */
function readAt(fd: number, position: number, length: number, file: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    const read = fs.readSync(fd, bytes, done, Math.min(READ_CHUNK_BYTES, length - done), position + done);
    if (read === 0) throw new TokenlabError(`${file}: the file ended at byte ${position + done} while being read (changed on disk?)`, { file });
    done += read;
  }
  return bytes;
}

function toFloat32(raw: Uint8Array, dtype: FloatDtype): Float32Array {
  if (dtype === "F32") return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const bits = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  return dtype === "BF16" ? bf16ToFloat32(bits) : f16ToFloat32(bits);
}

function fromFloat32(data: Float32Array | Uint16Array, dtype: FloatDtype): Uint8Array {
  if (data instanceof Uint16Array && dtype !== "BF16") return fromFloat32(bf16ToFloat32(data), dtype);
  const converted = dtype === "F32" || data instanceof Uint16Array ? data : dtype === "BF16" ? float32ToBf16(data) : float32ToF16(data);
  return new Uint8Array(converted.buffer, converted.byteOffset, converted.byteLength);
}

/** A tensor to write: float32 values (or BF16 bit patterns, written as they are under BF16), stored as `dtype`. */
export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  data: Float32Array | Uint16Array;
  dtype: FloatDtype;
}

/**
 * The 8-byte length prefix and JSON header for `tensors` stored in order and contiguously; the
 * header is padded with spaces so the data starts on an 8-byte boundary (as the format recommends).
 */
function encodeHeader(tensors: readonly TensorToWrite[], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const tensor of tensors) {
    // Checked at run time too: an unknown dtype would otherwise be written as F16 bytes under a header the
    // file cannot satisfy (data_offsets [0, null]).
    if (!isFloatDtype(tensor.dtype)) {
      throw new TokenlabError(`tensor ${tensor.name}: cannot write dtype ${JSON.stringify(tensor.dtype)}; only ${FLOAT_DTYPES.join(", ")} are supported`, {
        tensor: tensor.name,
      });
    }
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (count !== tensor.data.length) {
      throw new TokenlabError(`tensor ${tensor.name}: ${tensor.data.length} values do not fill shape [${tensor.shape}]`, {
        tensor: tensor.name,
      });
    }
    const bytes = count * BYTES_PER_ELEMENT[tensor.dtype];
    header[tensor.name] = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  return Buffer.concat([prefix, headerBytes]);
}

/** Serializes tensors into safetensors bytes in memory (small files; tests and fixtures). */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): Buffer {
  const header = encodeHeader(tensors, metadata);
  return Buffer.concat([header, ...tensors.map((t) => fromFloat32(t.data, t.dtype))]);
}

/**
 * Writes a safetensors file tensor by tensor, so only one converted tensor is in memory at a
 * time. Not atomic by itself: checkpoint saves write into a staging directory.
 */
export function writeSafetensorsStreaming(file: string, tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): void {
  const header = encodeHeader(tensors, metadata); // validates every tensor before the file is created
  const fd = fs.openSync(file, "w");
  try {
    fs.writeSync(fd, header);
    for (const tensor of tensors) fs.writeSync(fd, fromFloat32(tensor.data, tensor.dtype));
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a safetensors file atomically (temp file + rename). */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  try {
    writeSafetensorsStreaming(temp, tensors, metadata);
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}
