import * as fs from "node:fs";
import * as path from "node:path";
import { TokenlabError } from "../errors/tokenlab-error";
import { bf16ToFloat32, f16ToFloat32, float32ToBf16, float32ToF16 } from "./float-formats";

/** Float dtypes tokenlab reads and writes; all are computed in float32. */
export type FloatDtype = "F32" | "F16" | "BF16";
const BYTES_PER_ELEMENT: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** One tensor of a safetensors file, converted to float32. */
export interface SafetensorsEntry {
  dtype: FloatDtype;
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/**
 * Parses a safetensors file (https://huggingface.co/docs/safetensors: u64 little-endian header
 * length, JSON header, then the tensor bytes). Every inconsistency is an error naming the file and
 * the tensor, never a silently wrong tensor.
 */
export function readSafetensors(file: string): { tensors: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  const bytes = fs.readFileSync(file);
  const fail = (message: string, context: Record<string, unknown> = {}) =>
    new TokenlabError(`${file}: ${message}`, { file, ...context });
  if (bytes.length < 8) throw fail(`truncated safetensors file (${bytes.length} bytes, no header length)`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (8 + headerLength > bytes.length) {
    throw fail(`header length ${headerLength} is larger than the file (${bytes.length} bytes)`, { headerLength });
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"));
  } catch (cause) {
    throw fail(`header is not valid JSON: ${(cause as Error).message}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw fail("header is not a JSON object");
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = value as Record<string, string>;
      continue;
    }
    const entry = value as HeaderEntry;
    if (!(entry.dtype in BYTES_PER_ELEMENT)) {
      throw fail(`tensor ${name} has dtype ${entry.dtype}; only F32, F16 and BF16 are supported`, { tensor: name });
    }
    const dtype = entry.dtype as FloatDtype;
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
    // Copy so the typed array is aligned whatever the offset in the file.
    const raw = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { dtype, shape: entry.shape, data: toFloat32(raw, dtype) });
  }
  return { tensors, metadata };
}

function toFloat32(raw: Uint8Array, dtype: FloatDtype): Float32Array {
  if (dtype === "F32") return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const bits = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  return dtype === "BF16" ? bf16ToFloat32(bits) : f16ToFloat32(bits);
}

function fromFloat32(data: Float32Array, dtype: FloatDtype): Uint8Array {
  const converted = dtype === "F32" ? data : dtype === "BF16" ? float32ToBf16(data) : float32ToF16(data);
  return new Uint8Array(converted.buffer, converted.byteOffset, converted.byteLength);
}

/** A tensor to write: float32 values, stored as `dtype`. */
export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  data: Float32Array;
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
