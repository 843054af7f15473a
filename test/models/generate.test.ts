import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend/init-backend";
import { loadModel } from "../../lib/models/load-model";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { type TinyCheckpointOptions, writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";

/** Greedy decoding the slow way: the full sequence through forward() at every step, no cache. */
function greedyWithoutCache(model: TransformerLM, prompt: number[], steps: number): number[] {
  const ids = [...prompt];
  const choosable = model.tokenizer.size;
  for (let s = 0; s < steps; s++) {
    const logits = model.logits([ids]);
    const last = tf.tidy(() => tf.slice(logits, [0, ids.length - 1, 0], [1, 1, choosable]).dataSync());
    logits.dispose();
    ids.push(last.indexOf(Math.max(...last)));
  }
  return ids.slice(prompt.length);
}

/** The checkpoints decoded here; the prompt plus 12 new tokens runs past llama3's original 16 positions. */
const FIXTURES: Record<string, TinyCheckpointOptions> = {
  LlamaForCausalLM: { architecture: "LlamaForCausalLM" },
  "LlamaForCausalLM rope_scaling llama3": {
    architecture: "LlamaForCausalLM",
    ropeScaling: { rope_type: "llama3", factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 16 },
  },
  GPT2LMHeadModel: { architecture: "GPT2LMHeadModel" },
  Qwen2ForCausalLM: { architecture: "Qwen2ForCausalLM" },
  Qwen3ForCausalLM: { architecture: "Qwen3ForCausalLM" },
  MistralForCausalLM: { architecture: "MistralForCausalLM", configOverrides: { sliding_window: 4 } },
};

describe("generate", function () {
  this.timeout(120_000);
  let root: string;
  const models: Record<string, TransformerLM> = {};
  before(async () => {
    await initBackend();
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-gen-"));
    for (const [name, options] of Object.entries(FIXTURES)) {
      writeTinyCheckpoint(path.join(root, name), { seed: 11, weightStd: 0.3, ...options });
      models[name] = await loadModel(path.join(root, name));
    }
  });
  after(() => {
    Object.values(models).forEach((m) => m.dispose());
    fs.rmSync(root, { recursive: true, force: true });
  });

  for (const architecture of Object.keys(FIXTURES)) {
    it(`${architecture}: greedy decoding with the KV cache equals recomputing the whole sequence`, async () => {
      const model = models[architecture];
      const prompt = model.tokenizer.encode("The quick brown fox");
      const { ids } = await model.generate(prompt, { maxNewTokens: 12, stop: [] });
      // no eos in the way: compare the tokens it produced
      assert.deepEqual(ids, greedyWithoutCache(model, prompt, ids.length));
      assert.ok(ids.length > 0);
    });
  }

  it("samples reproducibly for a seed and differently for other seeds", async () => {
    const model = models.LlamaForCausalLM;
    const options = { maxNewTokens: 16, temperature: 1.5, topK: 20 };
    const a = await model.generate("the fox", { ...options, seed: 1 });
    const b = await model.generate("the fox", { ...options, seed: 1 });
    assert.deepEqual(a, b);
    const others = await Promise.all([2, 3, 4].map((seed) => model.generate("the fox", { ...options, seed })));
    assert.ok(others.some((o) => o.ids.join() !== a.ids.join()));
  });

  it("topK 1 gives the greedy tokens even at a high temperature", async () => {
    const model = models.LlamaForCausalLM;
    const greedy = await model.generate("the fox", { maxNewTokens: 12 });
    const wide = await model.generate("the fox", { maxNewTokens: 12, temperature: 5 });
    assert.notDeepEqual(wide.ids, greedy.ids, "temperature 5 without topK samples away from greedy");
    for (const seed of [1, 2, 3]) {
      const topOne = await model.generate("the fox", { maxNewTokens: 12, temperature: 5, topK: 1, seed });
      assert.deepEqual(topOne.ids, greedy.ids);
    }
  });

  describe("eos", () => {
    let model: TransformerLM;
    let eosId: number;
    let prompt: number[];
    let plain: number[];
    before(async () => {
      const dir = path.join(root, "eos");
      writeTinyCheckpoint(dir, { tied: false, seed: 11, weightStd: 0.3 });
      model = await loadModel(dir);
      eosId = model.tokenizer.size - 3; // the fixture's <|endoftext|>, its eos_token_id
      prompt = model.tokenizer.encode("the fox");
      plain = (await model.generate(prompt, { maxNewTokens: 12 })).ids;
      assert.equal(plain.length, 12, "the unchanged model does not reach eos");
    });
    after(() => model.dispose());

    /**
     * The model with the eos head row set to 1.05 × the row of the greedy token at `step`: where
     * that token's logit is the (positive) maximum, eos now beats it, so eos comes by `step`.
     */
    function eosBy(step: number): { forced: TransformerLM; owned: tf.Tensor } {
      const head = model.weights.get("lm_head.weight")!;
      const eosHead = tf.tidy(() => {
        const eosRow = tf.mul(tf.slice(head, [plain[step], 0], [1, -1]), 1.05);
        return tf.concat([tf.slice(head, [0, 0], [eosId, -1]), eosRow, tf.slice(head, [eosId + 1, 0], [-1, -1])], 0);
      });
      const weights = new Map(model.weights);
      weights.set("lm_head.weight", eosHead);
      return { forced: model.withChanges({ weights }), owned: eosHead };
    }

    it("ends at the eos token when no stop is given", async () => {
      const { forced, owned } = eosBy(2);
      const reference = greedyWithoutCache(forced, prompt, 12);
      const eosAt = reference.indexOf(eosId);
      assert.ok(eosAt > 0 && eosAt <= 2, `eos first chosen at step ${eosAt}`);
      const { ids, text } = await forced.generate(prompt, { maxNewTokens: 12 });
      assert.deepEqual(ids, reference.slice(0, eosAt));
      assert.equal(text, forced.tokenizer.decode(ids));
      owned.dispose();
    });

    it("returns no ids and empty text when eos is the first token", async () => {
      const { forced, owned } = eosBy(0);
      assert.equal(greedyWithoutCache(forced, prompt, 1)[0], eosId);
      assert.deepEqual(await forced.generate(prompt, { maxNewTokens: 12 }), { ids: [], text: "" });
      owned.dispose();
    });
  });

  it("stops at a stop string (cut before it), a stop id, and maxNewTokens", async () => {
    const model = models.GPT2LMHeadModel;
    const full = await model.generate("the dog", { maxNewTokens: 10 });
    assert.equal(full.ids.length, 10);
    const stopId = full.ids[4];
    const byId = await model.generate("the dog", { maxNewTokens: 10, stop: [stopId] });
    assert.deepEqual(byId.ids, full.ids.slice(0, full.ids.indexOf(stopId)));
    const stopText = model.tokenizer.decode(full.ids.slice(3, 5));
    const byText = await model.generate("the dog", { maxNewTokens: 10, stop: [stopText] });
    assert.equal(byText.text, full.text.slice(0, full.text.indexOf(stopText)));
  });

  it("ends early when its abort signal fires, returning the tokens so far", async () => {
    const controller = new AbortController();
    const model = models.LlamaForCausalLM;
    const full = await model.generate("the fox", { maxNewTokens: 8, stop: [] });
    setImmediate(() => controller.abort()); // fires while generation awaits its first token's data
    const partial = await model.generate("the fox", { maxNewTokens: 8, stop: [], signal: controller.signal });
    assert.ok(partial.ids.length < full.ids.length, `stopped after ${partial.ids.length} tokens`);
    assert.deepEqual(partial.ids, full.ids.slice(0, partial.ids.length));
  });

  it("never picks a padding row (embedding rows beyond the tokenizer)", async () => {
    const dir = path.join(root, "padded");
    const { tokenizerSize } = writeTinyCheckpoint(dir, { tied: false, vocabSize: 330, seed: 4 });
    const model = await loadModel(dir);
    // Real rows of the head give logit 0; padding rows come in ± pairs, so one of each pair wins
    // over every real row unless it is masked out.
    const hidden = model.config.hiddenSize;
    const padding = tf.tidy(() => {
      const r = tf.randomNormal([(330 - tokenizerSize) >> 1, hidden], 0, 1, "float32", 9);
      return tf.concat([r, tf.neg(r), tf.zeros([(330 - tokenizerSize) % 2, hidden])], 0);
    });
    const weights = new Map(model.weights);
    weights.set("lm_head.weight", tf.concat([tf.zeros([tokenizerSize, hidden]), padding], 0));
    const padded = model.withChanges({ weights });
    const logits = padded.logits([[72, 101]]);
    assert.ok(tf.tidy(() => tf.max(tf.slice(logits, [0, 1, tokenizerSize], [1, 1, -1])).dataSync()[0]) > 0);
    const { ids } = await padded.generate([72, 101], { maxNewTokens: 4, stop: [] });
    assert.deepEqual(ids, [0, 0, 0, 0]); // the first of the equal (zero) real logits
    tf.dispose([logits, padding, weights.get("lm_head.weight")!]);
    model.dispose();
  });

  it("rejects a prompt that fills the context, and stops where prompt + new tokens fill it", async () => {
    const dir = path.join(root, "short-context");
    writeTinyCheckpoint(dir, { seed: 11, weightStd: 0.3, configOverrides: { max_position_embeddings: 6 } });
    const model = await loadModel(dir);
    try {
      for (const length of [6, 9]) {
        const prompt = Array.from({ length }, (_, i) => 70 + i);
        await assert.rejects(model.generate(prompt, { maxNewTokens: 4 }), (error: Error) => {
          assert.equal(error.name, "TokenlabError");
          assert.match(error.message, new RegExp(`prompt has ${length} tokens .* context holds 6 positions .*at most 5 tokens`));
          return true;
        });
      }
      const { ids } = await model.generate([70, 71, 72, 73], { maxNewTokens: 10, stop: [] });
      assert.deepEqual(ids, greedyWithoutCache(model, [70, 71, 72, 73], 2));
    } finally {
      model.dispose();
    }
  });

  it("frees every tensor it creates", async () => {
    const before = tf.memory().numTensors;
    await models.Qwen3ForCausalLM.generate("hello", { maxNewTokens: 5, temperature: 1, seed: 3 });
    assert.equal(tf.memory().numTensors, before);
  });
});
