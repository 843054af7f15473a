import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend/init-backend";
import { TokenlabError } from "../../lib/errors/tokenlab-error";
import { AUTO_KEEP_BF16_ABOVE_BYTES, float32BytesOf, keepsBf16 } from "../../lib/models/keep-bf16";
import { loadModel } from "../../lib/models/load-model";
import { isPacked } from "../../lib/models/packed-weights";
import { SCALE_SHAPES, tensorShapes } from "../../bench/scale/shapes";
import { writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";

/** float32 bytes of a published shape, from its tensor list (independent of lib/models). */
const bytesOf = (name: string) => float32BytesOf(tensorShapes(SCALE_SHAPES.find((s) => s.name === name)!).values());

describe('loadModel keepBf16 "auto" (the default)', function () {
  this.timeout(120_000);
  const wasmBf16 = (float32Bytes: number) => ({ backend: "wasm" as const, dtype: "BF16" as const, float32Bytes });

  it("counts float32 bytes of every tensor", () => {
    assert.equal(float32BytesOf([[3, 4], [5], []]), (12 + 5 + 1) * 4);
    // The published parameter counts: ≈194M (SmolLM2-135M body, Qwen3 vocabulary), ≈0.6B, ≈1.24B.
    assert.ok(Math.abs(bytesOf("smollm2-135m-qwen3-vocab") / 4 - 194e6) < 2e6);
    assert.ok(Math.abs(bytesOf("llama-3.2-1b") / 4 - 1.236e9) < 1e7);
  });

  it("keeps BF16 checkpoints 16-bit on wasm from 0.6B parameters up, not the 135M-class one", () => {
    assert.equal(keepsBf16("auto", wasmBf16(bytesOf("smollm2-135m-qwen3-vocab"))), false, "0.8 GB as float32 fits the heap");
    assert.equal(keepsBf16("auto", wasmBf16(bytesOf("qwen3-0.6b"))), true, "2.4 GB as float32 leaves too little of the 4 GiB heap");
    assert.equal(keepsBf16("auto", wasmBf16(bytesOf("llama-3.2-1b"))), true, "5 GB as float32 exceeds the heap");
    assert.equal(keepsBf16("auto", wasmBf16(AUTO_KEEP_BF16_ABOVE_BYTES)), false);
    assert.equal(keepsBf16("auto", wasmBf16(AUTO_KEEP_BF16_ABOVE_BYTES + 4)), true);
  });

  it("keeps nothing 16-bit that is not stored BF16, nor on a backend without the 4 GiB heap and the 16-bit kernels", () => {
    const big = bytesOf("llama-3.2-1b");
    for (const dtype of ["F32", "F16"] as const) assert.equal(keepsBf16("auto", { backend: "wasm", dtype, float32Bytes: big }), false, dtype);
    for (const backend of ["node", "node-gpu", "cpu"] as const) assert.equal(keepsBf16("auto", { backend, dtype: "BF16", float32Bytes: big }), false, backend);
  });

  it("true and false force it either way", () => {
    assert.equal(keepsBf16(true, wasmBf16(0)), true);
    assert.equal(keepsBf16(false, wasmBf16(bytesOf("llama-3.2-1b"))), false);
  });

  it("loadModel decides by these rules: a small BF16 checkpoint loads float32 unless forced; bad options fail before reading", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-keep-bf16-auto-"));
    try {
      await initBackend("wasm");
      writeTinyCheckpoint(dir, { dtype: "BF16" });
      const embedding = "model.embed_tokens.weight";
      for (const [options, packed] of [[{}, false], [{ keepBf16: "auto" as const }, false], [{ keepBf16: true }, true], [{ keepBf16: false }, false]] as const) {
        const model = await loadModel(dir, options);
        assert.equal(isPacked(model.weights.get(embedding)!), packed, JSON.stringify(options));
        model.dispose();
      }
      // Bad options fail before the checkpoint is read (here there is none).
      const missing = path.join(dir, "missing");
      for (const bad of ["yes", 1, null, "Auto"]) {
        await assert.rejects(loadModel(missing, { keepBf16: bad as unknown as boolean }), (e: unknown) =>
          e instanceof TokenlabError && e.message === `loadModel option keepBf16 must be one of true, false, "auto", got ${JSON.stringify(bad)}`,
        );
      }
      await assert.rejects(loadModel(missing, { keepBF16: true } as never), /unknown loadModel option "keepBF16"; the options are keepBf16/);
      await initBackend("cpu");
      for (const options of [{}, { keepBf16: false }, { keepBf16: "auto" as const }]) {
        const model = await loadModel(dir, options);
        assert.equal(isPacked(model.weights.get(embedding)!), false, `cpu backend, ${JSON.stringify(options)}`);
        model.dispose();
      }
    } finally {
      await initBackend("wasm");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
