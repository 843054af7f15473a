import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TokenlabError } from "../../lib/errors/tokenlab-error";
import { encodeSafetensors, readSafetensors, writeSafetensors, type FloatDtype } from "../../lib/hf/safetensors";
import { parseHeaderByHand } from "./safetensors-by-hand";


// Includes F16 subnormals (3e-6), underflow to 0 (1e-8), the F16 max and ties in rounding.
const VALUES = [0, 1, -2.5, 3.14159, 1e-3, -65504, 1e-8, 3e-6, 0.333333, 65519, 1.00048828125, -7.0078125];

describe("safetensors", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-st-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes a header that follows the spec: 8-byte aligned data, contiguous offsets in order, __metadata__", () => {
    const bytes = encodeSafetensors(
      [
        { name: "a", shape: [3], data: new Float32Array([1, 2, 3]), dtype: "F16" },
        { name: "b.weight", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]), dtype: "F32" },
        { name: "c", shape: [1], data: new Float32Array([5]), dtype: "BF16" },
      ],
      { format: "pt" },
    );
    const { header, dataStart } = parseHeaderByHand(bytes);
    assert.equal(dataStart % 8, 0);
    assert.deepEqual(header.__metadata__, { format: "pt" });
    assert.deepEqual(header.a, { dtype: "F16", shape: [3], data_offsets: [0, 6] });
    assert.deepEqual(header["b.weight"], { dtype: "F32", shape: [2, 2], data_offsets: [6, 22] });
    assert.deepEqual(header.c, { dtype: "BF16", shape: [1], data_offsets: [22, 24] });
    assert.equal(bytes.length, dataStart + 24);
    assert.deepEqual([...new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataStart + 6, bytes.byteOffset + dataStart + 22))], [1, 2, 3, 4]);
  });

  for (const dtype of ["F32", "F16", "BF16"] as FloatDtype[]) {
    it(`converts ${dtype} exactly as numpy/torch round float32 (read back by PyTorch)`, () => {
      const file = path.join(dir, "x.safetensors");
      writeSafetensors(file, [{ name: "x", shape: [VALUES.length], data: new Float32Array(VALUES), dtype }]);
      // PyTorch's own rounding of the same float32 values, and its reading of our bytes.
      const script = `
import json, struct, sys, numpy as np, torch
raw = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8+n])["x"]; b, e = h["data_offsets"]; chunk = raw[8+n+b:8+n+e]
dt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[h["dtype"]]
ours = torch.frombuffer(bytearray(chunk), dtype=dt).float().tolist()
theirs = torch.tensor(${JSON.stringify(VALUES)}, dtype=torch.float32).to(dt).float().tolist()
print(json.dumps([ours, theirs]))`;
      const [ours, theirs] = JSON.parse(execFileSync("/usr/bin/python3", ["-c", script, file]).toString());
      assert.deepEqual(ours, theirs);
      const read = readSafetensors(file).tensors.get("x")!;
      assert.equal(read.dtype, dtype);
      assert.deepEqual([...read.data], theirs);
    });
  }

  describe("bad input gives a TokenlabError naming the problem", () => {
    const good = () => encodeSafetensors([{ name: "w", shape: [2, 2], data: new Float32Array(4), dtype: "F32" }]);
    const cases: Array<[string, () => Buffer, RegExp]> = [
      ["a file shorter than the length prefix", () => Buffer.from([1, 2, 3]), /truncated/],
      ["a header length larger than the file", () => {
        const b = good();
        b.writeBigUInt64LE(BigInt(b.length * 10));
        return b;
      }, /header length \d+ is larger than the file/],
      ["a header that is not JSON", () => {
        const b = Buffer.alloc(16, 0x20);
        b.writeBigUInt64LE(8n);
        b.write("{bad json", 8);
        return b;
      }, /not valid JSON/],
      ["truncated tensor data", () => good().subarray(0, good().length - 4), /w lies beyond the end of the file/],
      ["a byte size that does not fit the shape and dtype", () => {
        const header = JSON.stringify({ w: { dtype: "F32", shape: [3, 2], data_offsets: [0, 16] } });
        const prefix = Buffer.alloc(8);
        prefix.writeBigUInt64LE(BigInt(header.length));
        return Buffer.concat([prefix, Buffer.from(header), Buffer.alloc(16)]);
      }, /w: 16 bytes do not hold shape \[3,2\] of F32/],
      ["a header entry that is null", () => {
        const header = JSON.stringify({ w: null });
        const prefix = Buffer.alloc(8);
        prefix.writeBigUInt64LE(BigInt(header.length));
        return Buffer.concat([prefix, Buffer.from(header)]);
      }, /tensor w has a malformed header entry null \(expected \{dtype, shape, data_offsets\}\)/],
      ["a dtype that is an Object.prototype name", () => {
        const header = JSON.stringify({ w: { dtype: "toString", shape: [2], data_offsets: [0, 8] } });
        const prefix = Buffer.alloc(8);
        prefix.writeBigUInt64LE(BigInt(header.length));
        return Buffer.concat([prefix, Buffer.from(header), Buffer.alloc(8)]);
      }, /w has dtype toString/],
      ["an unsupported dtype", () => {
        const header = JSON.stringify({ w: { dtype: "I64", shape: [2], data_offsets: [0, 16] } });
        const prefix = Buffer.alloc(8);
        prefix.writeBigUInt64LE(BigInt(header.length));
        return Buffer.concat([prefix, Buffer.from(header), Buffer.alloc(16)]);
      }, /w has dtype I64/],
    ];
    for (const [label, make, message] of cases) {
      it(label, () => {
        const file = path.join(dir, "bad.safetensors");
        fs.writeFileSync(file, make());
        assert.throws(() => readSafetensors(file), (e: Error) => e instanceof TokenlabError && message.test(e.message) && e.message.includes(file));
      });
    }
  });

  describe("a file over 2 GiB (sparse on disk, so it costs neither disk nor memory)", () => {
    const paddingElements = 2 ** 30 + 512; // BF16: 2 GiB + 1 KiB of zeros, 4 GiB + 2 KiB as float32
    const probe = new Float32Array([1.5, -2, 3.25, 1e10]);
    let file: string;
    beforeEach(() => {
      file = path.join(dir, "huge.safetensors");
      const paddingBytes = paddingElements * 2;
      const header = JSON.stringify({
        padding: { dtype: "BF16", shape: [paddingElements], data_offsets: [0, paddingBytes] },
        probe: { dtype: "F32", shape: [probe.length], data_offsets: [paddingBytes, paddingBytes + probe.byteLength] },
      });
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(header.length));
      const fd = fs.openSync(file, "w");
      fs.writeSync(fd, Buffer.concat([prefix, Buffer.from(header)]));
      const dataStart = 8 + header.length;
      fs.ftruncateSync(fd, dataStart + paddingBytes); // the padding tensor: a hole that reads as zeros
      fs.writeSync(fd, Buffer.from(probe.buffer), 0, probe.byteLength, dataStart + paddingBytes);
      fs.closeSync(fd);
    });

    it("reads a tensor stored beyond 2 GiB, without reading the file whole", () => {
      assert.ok(fs.statSync(file).size > 2 ** 31);
      assert.throws(() => fs.readFileSync(file), { code: "ERR_FS_FILE_TOO_LARGE" }, "the fixture is too large for a whole-file read");
      const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
      const { tensors } = readSafetensors(file, { only: ["probe"] });
      assert.ok(process.memoryUsage().arrayBuffers - arrayBuffersBefore < 2 ** 20, "only the requested tensor was read");
      assert.deepEqual([...tensors.keys()], ["probe"]);
      const { dtype, shape, data } = tensors.get("probe")!;
      assert.deepEqual({ dtype, shape, data }, { dtype: "F32", shape: [4], data: probe });
    });

    it("refuses a tensor too large to hold, naming it, and a tensor the file does not have", () => {
      assert.throws(() => readSafetensors(file), (e: Error) => e instanceof TokenlabError && /tensor padding \[1073742336\] is too large/.test(e.message));
      assert.throws(() => readSafetensors(file, { only: ["nope"] }), (e: Error) => e instanceof TokenlabError && /has no tensor nope/.test(e.message));
    });
  });

  it("refuses to write values that do not fill the shape", () => {
    assert.throws(() => encodeSafetensors([{ name: "w", shape: [2, 2], data: new Float32Array(3), dtype: "F32" }]), /w: 3 values/);
  });

  it("refuses to write a dtype it cannot store, before creating the file", () => {
    const file = path.join(dir, "w.safetensors");
    for (const dtype of ["F64", "f16", "constructor"]) {
      const tensors = [{ name: "w", shape: [2], data: new Float32Array(2), dtype: dtype as FloatDtype }];
      const named = (e: Error) => e instanceof TokenlabError && e.message === `tensor w: cannot write dtype "${dtype}"; only F32, F16, BF16 are supported`;
      assert.throws(() => encodeSafetensors(tensors), named);
      assert.throws(() => writeSafetensors(file, tensors), named);
      assert.deepEqual(fs.readdirSync(dir), [], "no file and no temporary file");
    }
  });

  it("refuses to read a dtype named after an Object property", () => {
    const header = JSON.stringify({ w: { dtype: "constructor", shape: [2], data_offsets: [0, 8] } });
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    const file = path.join(dir, "w.safetensors");
    fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header), Buffer.alloc(8)]));
    assert.throws(() => readSafetensors(file), (e: Error) => e instanceof TokenlabError && /tensor w has dtype constructor; only F32, F16 and BF16/.test(e.message));
  });
});
