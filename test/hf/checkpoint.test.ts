import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readCheckpoint, writeCheckpoint } from "../../lib/hf/checkpoint";
import { writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";

describe("checkpoint directories", () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-ckpt-"))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("reads config, weights, tokenizer and generation_config", () => {
    const dir = path.join(root, "m");
    const written = writeTinyCheckpoint(dir, { dtype: "BF16" });
    const checkpoint = readCheckpoint(dir);
    assert.deepEqual(checkpoint.config, written.config);
    assert.deepEqual([...checkpoint.tensors.keys()].sort(), [...written.tensorNames].sort());
    assert.equal(checkpoint.dtype, "BF16");
    assert.equal(checkpoint.tokenizer.size, written.tokenizerSize);
    assert.equal(checkpoint.generationConfig?.eos_token_id, written.tokenizerSize - 3);
  });

  it("names the problem when given the model.safetensors file, or a config.json that is null or not an object", () => {
    const dir = path.join(root, "model");
    writeTinyCheckpoint(dir);
    const file = path.join(dir, "model.safetensors");
    assert.throws(() => readCheckpoint(file), (e: Error) => e.message === `${file} is a file; a checkpoint is the directory that holds config.json, the safetensors and the tokenizer files: pass ${dir}`);
    for (const [json, shown] of [["null", "null"], ["[1]", "\\[1\\]"], ['"x"', '"x"']]) {
      fs.writeFileSync(path.join(dir, "config.json"), json);
      assert.throws(() => readCheckpoint(dir), new RegExp(`config\\.json must hold a JSON object, got ${shown}$`));
    }
  });

  it("a save that fails midway leaves the previous checkpoint untouched and no temporary files", () => {
    const dir = path.join(root, "m");
    writeTinyCheckpoint(dir);
    const before = Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
    const checkpoint = readCheckpoint(dir);
    const tensors = [...checkpoint.tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data, dtype: t.dtype }));
    tensors[tensors.length - 1] = { ...tensors[tensors.length - 1], data: new Float32Array(1) }; // fails while encoding
    assert.throws(() => writeCheckpoint(dir, { config: { changed: true }, tensors, tokenizer: checkpoint.tokenizer }));
    const after = Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
    assert.deepEqual(after, before);
    assert.deepEqual(fs.readdirSync(root), ["m"]);
  });
});
