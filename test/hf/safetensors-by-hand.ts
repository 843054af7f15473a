import * as assert from "node:assert/strict";
import * as fs from "node:fs";

/**
 * An independent reading of the safetensors format spec (https://huggingface.co/docs/safetensors),
 * written without tokenlab's reader so tests can check tokenlab's files against the spec itself.
 */

/** Bytes per element of the dtypes the spec names that tokenlab may write. */
const SPEC_DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** u64 little-endian header size, then the JSON header; the data section starts right after it. */
export function parseHeaderByHand(bytes: Buffer): { header: Record<string, any>; dataStart: number } {
  const size = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + size).toString("utf8"));
  return { header, dataStart: 8 + size };
}

/**
 * Asserts that `file` follows the spec: a JSON object header whose optional __metadata__ maps
 * strings to strings, and tensors whose byte ranges match dtype × shape and, sorted, tile the data
 * section exactly (from 0, no gap, no overlap, to the end of the file). Returns the header.
 */
export function assertSafetensorsFollowsSpec(file: string): Record<string, any> {
  const bytes = fs.readFileSync(file);
  assert.ok(bytes.length >= 8, `${file}: no header length`);
  const { header, dataStart } = parseHeaderByHand(bytes);
  assert.ok(dataStart <= bytes.length, `${file}: header runs past the end`);
  assert.ok(typeof header === "object" && header !== null && !Array.isArray(header), `${file}: header is not an object`);
  const { __metadata__: metadata, ...tensors } = header;
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) assert.equal(typeof value, "string", `${file}: __metadata__.${key} is not a string`);
  }
  const ranges = Object.entries(tensors).map(([name, entry]: [string, any]) => {
    assert.ok(entry.dtype in SPEC_DTYPE_BYTES, `${file}: ${name} has dtype ${entry.dtype}`);
    assert.ok(entry.shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0), `${file}: ${name} shape [${entry.shape}]`);
    const [begin, end] = entry.data_offsets;
    const elements = entry.shape.reduce((a: number, b: number) => a * b, 1);
    assert.equal(end - begin, elements * SPEC_DTYPE_BYTES[entry.dtype], `${file}: ${name} byte length vs ${entry.dtype} [${entry.shape}]`);
    return { name, begin, end };
  });
  ranges.sort((a, b) => a.begin - b.begin);
  let covered = 0;
  for (const { name, begin, end } of ranges) {
    assert.equal(begin, covered, `${file}: ${name} starts at ${begin}, the previous tensor ended at ${covered}`);
    covered = end;
  }
  assert.equal(dataStart + covered, bytes.length, `${file}: the tensors cover ${covered} bytes of a ${bytes.length - dataStart}-byte data section`);
  return header;
}
