import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { TokenlabError } from "../../lib/errors/tokenlab-error";
import { encodeSafetensors, readSafetensors } from "../../lib/hf/safetensors";
import { loadModel, saveModel, type SaveOptions } from "../../lib/models/load-model";
import { TINY_ARCHITECTURES, writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";
import { assertSafetensorsFollowsSpec } from "../hf/safetensors-by-hand";
import { relativeError, runReference } from "../reference/run-reference";

const IDS = [
  [5, 72, 101, 108, 108],
  [111, 32, 119, 260, 300],
];

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));

describe("loadModel / saveModel", function () {
  this.timeout(120_000);
  let root: string;
  before(async () => {
    await initBackend();
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-io-"));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = (name: string) => path.join(root, name);

  describe("round trip for every architecture", () => {
    const variants = TINY_ARCHITECTURES.flatMap((architecture) => [true, false].map((tied) => ({ architecture, tied })));
    const name = (v: (typeof variants)[number]) => `${v.architecture}-${v.tied ? "tied" : "untied"}`;
    let references: Array<{ logits: number[] }>;

    before(async () => {
      for (const v of variants) {
        writeTinyCheckpoint(dir(name(v)), { ...v, seed: 3 });
        const model = await loadModel(dir(name(v)));
        await saveModel(model, dir(`${name(v)}-saved`));
        model.dispose();
      }
      // One PyTorch run reads every saved file with its own safetensors reader.
      references = runReference(variants.map((v) => ({ dir: dir(`${name(v)}-saved`), ids: IDS })));
    });

    variants.forEach((v, i) => {
      it(`${name(v)}: load → save → load gives identical logits, and PyTorch reads the saved file`, async () => {
        const model = await loadModel(dir(name(v)));
        const reloaded = await loadModel(dir(`${name(v)}-saved`));
        const before = model.logits(IDS);
        const after = reloaded.logits(IDS);
        assert.deepEqual(after.dataSync(), before.dataSync());
        assert.ok(relativeError(after.dataSync(), references[i].logits) < 1e-4);
        const names = Object.keys(assertSafetensorsFollowsSpec(path.join(dir(`${name(v)}-saved`), "model.safetensors")));
        assert.equal(names.includes("lm_head.weight"), !v.tied, "lm_head.weight is written only for untied models");
        tf.dispose([before, after]);
        model.dispose();
        reloaded.dispose();
      });
    });
  });

  it("keeps BF16 by default, converts on request, and records torch_dtype", async () => {
    writeTinyCheckpoint(dir("bf16"), { dtype: "BF16" });
    const model = await loadModel(dir("bf16"));
    await saveModel(model, dir("bf16-kept"));
    await saveModel(model, dir("bf16-as-f32"), { dtype: "F32" });
    const kept = assertSafetensorsFollowsSpec(path.join(dir("bf16-kept"), "model.safetensors"));
    assert.equal(kept["model.norm.weight"].dtype, "BF16");
    assert.equal(readJson(path.join(dir("bf16-kept"), "config.json")).torch_dtype, "bfloat16");
    assert.equal(assertSafetensorsFollowsSpec(path.join(dir("bf16-as-f32"), "model.safetensors"))["model.norm.weight"].dtype, "F32");
    assert.equal(readJson(path.join(dir("bf16-as-f32"), "config.json")).torch_dtype, "float32");
    const a = model.logits(IDS);
    const b = (await loadModel(dir("bf16-kept"))).logits(IDS);
    assert.deepEqual(b.dataSync(), a.dataSync(), "BF16 values survive a BF16 save exactly");
    model.dispose();
  });

  for (const key of [undefined, "dtype"]) {
    it(`keeps BF16 when config.json ${key ? `names it under "${key}"` : "names no dtype"}, and the saved config agrees with the tensors`, async () => {
      const name = `bf16-${key ?? "unnamed"}`;
      writeTinyCheckpoint(dir(name), { dtype: "BF16" });
      const configFile = path.join(dir(name), "config.json");
      const { torch_dtype, ...config } = readJson(configFile);
      fs.writeFileSync(configFile, JSON.stringify(key ? { ...config, [key]: torch_dtype } : config));
      const model = await loadModel(dir(name));
      await saveModel(model, dir(`${name}-saved`));
      await saveModel(model, dir(`${name}-as-f32`), { dtype: "F32" });
      model.dispose();
      for (const [saved, dtype, torchName] of [[`${name}-saved`, "BF16", "bfloat16"], [`${name}-as-f32`, "F32", "float32"]]) {
        const header = assertSafetensorsFollowsSpec(path.join(dir(saved), "model.safetensors"));
        const dtypes = new Set(Object.entries(header).filter(([t]) => t !== "__metadata__").map(([, entry]) => entry.dtype));
        assert.deepEqual([...dtypes], [dtype], saved);
        const savedConfig = readJson(path.join(dir(saved), "config.json"));
        assert.equal(savedConfig.torch_dtype, torchName, saved);
        if (key) assert.equal(savedConfig[key], torchName, `${saved}: the "${key}" key agrees`);
      }
    });
  }

  it("writes the current vocab_size when the embedding grew, and the checkpoint reloads", async () => {
    const { tokenizerSize } = writeTinyCheckpoint(dir("grow"), { tied: false });
    const model = await loadModel(dir("grow"));
    const grow = (t: tf.Tensor) => tf.concat([t, tf.zeros([3, t.shape[1]!])], 0);
    const weights = new Map(model.weights);
    weights.set("model.embed_tokens.weight", grow(model.weights.get("model.embed_tokens.weight")!));
    weights.set("lm_head.weight", grow(model.weights.get("lm_head.weight")!));
    await saveModel(model.withChanges({ weights }), dir("grown"));
    const config = readJson(path.join(dir("grown"), "config.json"));
    assert.equal(config.vocab_size, tokenizerSize + 5 + 3);
    const reloaded = await loadModel(dir("grown"));
    assert.equal(reloaded.config.vocabSize, tokenizerSize + 8);
    assert.deepEqual(reloaded.logits(IDS).shape, [2, 5, tokenizerSize + 8]);
  });

  it("writes shards with an index when asked, and reads them back", async () => {
    writeTinyCheckpoint(dir("unsharded"));
    const model = await loadModel(dir("unsharded"));
    await saveModel(model, dir("sharded"), { maxShardBytes: 20_000 });
    const files = fs.readdirSync(dir("sharded"));
    assert.ok(!files.includes("model.safetensors"));
    const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    assert.ok(shards.length > 1, `several shards: ${files}`);
    const index = readJson(path.join(dir("sharded"), "model.safetensors.index.json"));
    const shardHeaders = Object.fromEntries(shards.map((shard) => [shard, assertSafetensorsFollowsSpec(path.join(dir("sharded"), shard))]));
    for (const [name, shard] of Object.entries(index.weight_map)) assert.ok(name in shardHeaders[shard as string], `${name} is in ${shard}`);
    const tensorBytes = Object.values(shardHeaders).flatMap((header) =>
      Object.entries(header).filter(([name]) => name !== "__metadata__").map(([, entry]) => entry.data_offsets[1] - entry.data_offsets[0]),
    );
    assert.equal(index.metadata.total_size, tensorBytes.reduce((a, b) => a + b, 0));
    assert.equal(Object.keys(index.weight_map).length, tensorBytes.length, "every tensor of every shard is in the index");
    assert.deepEqual((await loadModel(dir("sharded"))).logits(IDS).dataSync(), model.logits(IDS).dataSync());
  });

  it("overwrites an existing checkpoint in place, keeping unrelated files such as a README", async () => {
    writeTinyCheckpoint(dir("target"), { seed: 1 });
    fs.writeFileSync(path.join(dir("target"), "README.md"), "notes");
    writeTinyCheckpoint(dir("other"), { seed: 2 });
    const other = await loadModel(dir("other"));
    await saveModel(other, dir("target"));
    assert.equal(fs.readFileSync(path.join(dir("target"), "README.md"), "utf8"), "notes");
    assert.deepEqual((await loadModel(dir("target"))).logits(IDS).dataSync(), other.logits(IDS).dataSync());
    assert.deepEqual(fs.readdirSync(root).filter((f) => f.startsWith(".")), [], "no staging directories left behind");
  });

  /** Every file of a directory with its bytes, to show a failed save changed nothing. */
  const snapshot = (d: string) => Object.fromEntries(fs.readdirSync(d).map((f) => [f, fs.readFileSync(path.join(d, f))]));
  const leftovers = () => fs.readdirSync(root).filter((f) => f.startsWith("."));

  describe("bad save options are refused before an existing checkpoint is touched", () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ["an unknown dtype", { dtype: "F64" }, /dtype must be one of "F32", "F16", "BF16", got "F64"$/],
      ["a lower-case dtype", { dtype: "f16" }, /got "f16" \(did you mean "F16"\?\)/],
      ["a torch dtype name", { dtype: "bfloat16" }, /got "bfloat16" \(did you mean "BF16"\?\)/],
      ["a zero shard size", { maxShardBytes: 0 }, /maxShardBytes must be a positive whole number of bytes, got 0/],
      ["a NaN shard size", { maxShardBytes: NaN }, /maxShardBytes .* got NaN/],
      ["a shard size given as a string", { maxShardBytes: "2GB" }, /maxShardBytes .* got "2GB"/],
      ["a misspelt option", { shardSize: 1000 }, /unknown saveModel option "shardSize"; the options are dtype, maxShardBytes/],
      ["options that are not an object", "BF16", /options must be an object .* got "BF16"/],
    ];
    for (const [label, options, message] of cases) {
      it(label, async () => {
        writeTinyCheckpoint(dir("kept"), { seed: 4 });
        const before = snapshot(dir("kept"));
        const model = await loadModel(dir("kept"));
        await assert.rejects(saveModel(model, dir("kept"), options as SaveOptions), (e: Error) => e instanceof TokenlabError && message.test(e.message));
        model.dispose();
        assert.deepEqual(snapshot(dir("kept")), before);
        assert.deepEqual(leftovers(), []);
      });
    }
  });

  it("refuses an empty path, the working directory, a folder holding it and a file, writing nothing", async () => {
    writeTinyCheckpoint(dir("source"));
    const model = await loadModel(dir("source"));
    const work = dir("work");
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, "notes.txt"), "keep me");
    const cwd = process.cwd();
    const before = { root: fs.readdirSync(root), work: snapshot(work) };
    process.chdir(work);
    try {
      const cases: Array<[string, RegExp]> = [
        ["", /^no directory to save into \(got ""\)/],
        [".", /^"\." is or holds the working directory /],
        [work, /is or holds the working directory /],
        ["..", /^"\.\." is or holds the working directory /],
        ["notes.txt", /^notes\.txt is a file, not a checkpoint directory/],
      ];
      for (const [target, message] of cases) {
        await assert.rejects(saveModel(model, target), (e: Error) => e instanceof TokenlabError && message.test(e.message), JSON.stringify(target));
        assert.deepEqual({ root: fs.readdirSync(root), work: snapshot(work) }, before, `nothing written for ${JSON.stringify(target)}`);
      }
    } finally {
      process.chdir(cwd);
      model.dispose();
    }
  });

  describe("bad checkpoints give errors that name the problem", () => {
    it("a tokenizer with more ids than embedding rows, refused at load rather than in the first embedding lookup", async () => {
      const { tokenizerSize } = writeTinyCheckpoint(dir("small-vocab"), { vocabSize: 250 });
      assert.ok(tokenizerSize > 250);
      await assert.rejects(
        loadModel(dir("small-vocab")),
        (e: Error) =>
          e instanceof TokenlabError &&
          e.message.endsWith(`the tokenizer has ids up to ${tokenizerSize - 1} but the embedding has only 250 rows (config.json vocab_size); tokenizer.json and the weights do not belong together`),
      );
    });

    it("an unsupported architecture", async () => {
      writeTinyCheckpoint(dir("arch"), { configOverrides: { architectures: ["FalconForCausalLM"] } });
      await assert.rejects(loadModel(dir("arch")), (e: Error) => e instanceof TokenlabError && /FalconForCausalLM/.test(e.message));
    });

    it("a missing tensor", async () => {
      writeTinyCheckpoint(dir("missing"));
      const file = path.join(dir("missing"), "model.safetensors");
      const tensors = [...readSafetensors(file).tensors].filter(([name]) => name !== "model.layers.1.mlp.up_proj.weight");
      fs.writeFileSync(file, encodeSafetensors(tensors.map(([name, t]) => ({ name, ...t }))));
      await assert.rejects(loadModel(dir("missing")), (e: Error) => e instanceof TokenlabError && /missing tensor model\.layers\.1\.mlp\.up_proj\.weight/.test(e.message));
    });

    it("a tensor whose shape disagrees with config.json", async () => {
      writeTinyCheckpoint(dir("shape"), { configOverrides: { intermediate_size: 48 } });
      await assert.rejects(loadModel(dir("shape")), (e: Error) => e instanceof TokenlabError && /gate_proj\.weight has shape \[64,32\] but config\.json implies \[48,32\]/.test(e.message));
    });

    it("a missing tokenizer file", async () => {
      writeTinyCheckpoint(dir("notok"));
      fs.rmSync(path.join(dir("notok"), "tokenizer.json"));
      await assert.rejects(loadModel(dir("notok")), (e: Error) => e instanceof TokenlabError && /tokenizer\.json/.test(e.message));
    });

    it("a missing directory or config.json", async () => {
      await assert.rejects(loadModel(dir("nowhere")), (e: Error) => e instanceof TokenlabError && /does not exist/.test(e.message));
      writeTinyCheckpoint(dir("noconfig"));
      fs.rmSync(path.join(dir("noconfig"), "config.json"));
      await assert.rejects(loadModel(dir("noconfig")), (e: Error) => e instanceof TokenlabError && /config\.json/.test(e.message));
    });
  });
});
