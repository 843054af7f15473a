import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Tokenizer } from "@anush008/tokenizers";
import { loadModel, saveModel } from "../../lib/models/load-model";
import { addTokens } from "../../lib/tokens/add-tokens";
import { numpy } from "./numpy";
import { readTensorWithNumpy, tinyModel } from "./tiny-model";
import { materializedMatrix } from "../../lib/models/model-rows";

const SPECS = [
  { content: "<think>", special: true, rstrip: true },
  { content: "</think>", special: true, lstrip: true },
  { content: "<sep>", init: { from: "-" } },
  { content: "<b>", normalized: false, description: "bold text" },
];

describe("added tokens survive save → load", function () {
  this.timeout(120_000);

  it("keeps rows, flags and ids exactly, writes the files Python reads, and the Rust tokenizer agrees on the saved tokenizer.json", async () => {
    const { model, checkpoint, remove } = await tinyModel({ tied: false });
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-saved-"));
    try {
      const result = addTokens(model, SPECS, { padToMultipleOf: 8, seed: 4, init: "noisy-mean" });
      await saveModel(result.model, out);
      const loaded = await loadModel(out);
      const T = checkpoint.tokenizerSize;
      const rows = result.model.config.vocabSize;
      for (const name of ["model.embed_tokens.weight", "lm_head.weight"]) {
        const whole = materializedMatrix(result.model, name); // the base matrix with the added rows in place
        const ours = whole.arraySync() as number[][];
        whole.dispose();
        assert.deepEqual(loaded.weights.get(name)!.arraySync(), ours, name);
        // Independent reader: numpy parses the saved file.
        const saved = readTensorWithNumpy(path.join(out, "model.safetensors"), name);
        assert.equal(saved.length, rows);
        assert.deepEqual(saved.slice(T, T + SPECS.length), ours.slice(T, T + SPECS.length));
      }
      for (const spec of SPECS) assert.equal(loaded.tokenizer.tokenToId(spec.content), result.model.tokenizer.tokenToId(spec.content));
      assert.deepEqual(loaded.tokenizer.tokenizerJson.added_tokens, result.model.tokenizer.tokenizerJson.added_tokens);

      // What Python sees, read by Python.
      const files = numpy(
        [
          "d = data['dir']",
          "tok = json.load(open(d + '/tokenizer.json')); cfg = json.load(open(d + '/tokenizer_config.json')); conf = json.load(open(d + '/config.json'))",
          "result = {'added': [t for t in tok['added_tokens'] if t['id'] >= data['t']], 'decoder': {k: v for k, v in cfg['added_tokens_decoder'].items() if int(k) >= data['t']}, 'vocab_size': conf['vocab_size'], 'tie': conf['tie_word_embeddings']}",
        ].join("\n"),
        { dir: out, t: T },
      );
      assert.equal(files.vocab_size, rows);
      assert.equal(files.tie, false);
      const expectedFlags = [
        { special: true, lstrip: false, rstrip: true, single_word: false, normalized: false },
        { special: true, lstrip: true, rstrip: false, single_word: false, normalized: false },
        { special: false, lstrip: false, rstrip: false, single_word: false, normalized: true },
        { special: false, lstrip: false, rstrip: false, single_word: false, normalized: false },
      ];
      assert.deepEqual(
        files.added,
        SPECS.map((spec, i) => ({ id: T + i, content: spec.content, ...expectedFlags[i] })),
      );
      assert.deepEqual(
        files.decoder,
        Object.fromEntries(SPECS.map((spec, i) => [String(T + i), { content: spec.content, ...expectedFlags[i] }])),
      );

      const rust = Tokenizer.fromFile(path.join(out, "tokenizer.json"));
      const text = "Let me see <think> the fox\n</think> a<sep>b <b>bold<b> end";
      assert.deepEqual((await rust.encode(text, null, { addSpecialTokens: false })).getIds(), loaded.tokenizer.encode(text));
      assert.ok(loaded.tokenizer.encode(text).includes(T));
      loaded.dispose();
      (result.model as typeof model).dispose([model.weights]);
    } finally {
      model.dispose();
      remove();
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
