import * as assert from "node:assert/strict";
import * as path from "node:path";
import { Tokenizer } from "@anush008/tokenizers";
import * as tf from "@tensorflow/tfjs-core";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { AddTokensError } from "../../lib/tokens/add-tokens-error";
import { addTokens } from "../../lib/tokens/add-tokens";
import type { CausalLM } from "../../lib/models/causal-lm";
import { materializedMatrix, vocabRows } from "../../lib/models/model-rows";
import { numpy } from "./numpy";
import { readTensorWithNumpy, tinyModel } from "./tiny-model";

type Rows = number[][];
const rowsOf = (t: tf.Tensor | undefined): Rows => (t!.arraySync() as Rows);
/** The rows of `model`'s matrix `name` as it computes with them (added rows in place), built whole for the test. */
const wholeRows = (model: CausalLM, name: string): Rows => {
  const whole = materializedMatrix(model, name);
  try {
    return rowsOf(whole);
  } finally {
    whole.dispose();
  }
};
const assertRowsClose = (actual: number[], expected: number[], label: string, tolerance = 1e-6) =>
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tolerance, `${label}[${i}]: ${v} vs ${expected[i]}`));

describe("addTokens", function () {
  this.timeout(120_000);

  it("grows an untied model exactly: ids after the highest id, old padding rows reused, head rows from the head's own rows", async () => {
    const { model, checkpoint, remove } = await tinyModel({ tied: false, seed: 3 });
    try {
      const T = checkpoint.tokenizerSize;
      const oldRows = T + 5;
      const tensorsBefore = tf.memory().numTensors;
      const bytesBefore = tf.memory().numBytes;
      const result = addTokens(
        model,
        ["<think>", { content: "</think>", special: true }, { content: "<sep>", init: { from: "-" } }],
        { padToMultipleOf: 16, seed: 1 },
      );
      const extended = result.model;
      // Shared, not copied: the new tensors are the two matrices' added rows, O(k·hidden) bytes.
      assert.equal(tf.memory().numTensors, tensorsBefore + 2, "exactly the added rows of the two matrices are new tensors");
      const hidden = model.config.hiddenSize;
      const addedRows = 3 + (Math.ceil(oldRows / 16) * 16 - oldRows);
      assert.equal(tf.memory().numBytes - bytesBefore, 2 * addedRows * hidden * 4, "no vocab-sized tensor was allocated");
      assert.deepEqual(result.newIds, [T, T + 1, T + 2]);
      assert.deepEqual(["<think>", "</think>", "<sep>"].map((t) => extended.tokenizer.tokenToId(t)), [T, T + 1, T + 2]);
      const rows = Math.ceil(oldRows / 16) * 16;
      assert.equal(extended.config.vocabSize, rows);
      assert.equal(extended.config.raw.vocab_size, rows);

      const file = path.join(checkpoint.dir, "model.safetensors");
      const reference = numpy(
        [
          "e = np.array(data['e']); h = np.array(data['h']); t = data['t']; sep = data['sep']",
          "result = {'e_mean': e[:t].mean(0).tolist(), 'h_mean': h[:t].mean(0).tolist(), 'e_sep': e[sep].mean(0).tolist(), 'h_sep': h[sep].mean(0).tolist()}",
        ].join("\n"),
        {
          e: readTensorWithNumpy(file, "model.embed_tokens.weight"),
          h: readTensorWithNumpy(file, "lm_head.weight"),
          t: T,
          sep: (await Tokenizer.fromFile(path.join(checkpoint.dir, "tokenizer.json")).encode("-", null, { addSpecialTokens: false })).getIds(),
        },
      );
      const baseEmbedding = rowsOf(model.weights.get("model.embed_tokens.weight"));
      const baseHead = rowsOf(model.weights.get("lm_head.weight"));
      for (const [name, baseRows, mean, sep] of [
        ["model.embed_tokens.weight", baseEmbedding, reference.e_mean, reference.e_sep],
        ["lm_head.weight", baseHead, reference.h_mean, reference.h_sep],
      ] as const) {
        const grown = wholeRows(extended, name);
        assert.equal(grown.length, rows, name);
        assert.deepEqual(grown.slice(0, T), baseRows.slice(0, T), `${name}: token rows unchanged`);
        assertRowsClose(grown[T], mean, `${name} <think> = mean`);
        assertRowsClose(grown[T + 1], mean, `${name} </think> = mean`);
        assertRowsClose(grown[T + 2], sep, `${name} <sep> = from "-"`);
        assert.deepEqual(grown.slice(T + 3, oldRows), baseRows.slice(T + 3, oldRows), `${name}: remaining old padding rows kept`);
        for (let r = oldRows; r < rows; r++) assertRowsClose(grown[r], mean, `${name} new padding row ${r} = mean`);
      }
      for (const [name, tensor] of model.weights) assert.equal(extended.weights.get(name), tensor, `${name} shared`);
      // The base is untouched.
      assert.equal(model.tokenizer.size, T);
      assert.equal(model.config.raw.vocab_size, oldRows);
      assert.equal(model.weights.get("model.embed_tokens.weight")!.shape[0], oldRows);
      assert.equal(model.tokenizer.tokenToId("<think>"), undefined);
      const logits = extended.logits([[T, 5, T + 2]]);
      assert.deepEqual(logits.shape, [1, 3, rows]);
      logits.dispose();
      (extended as typeof model).dispose([model.weights]);
      assert.equal(tf.memory().numTensors, tensorsBefore);
    } finally {
      model.dispose();
      remove();
    }
  });

  it("is deterministic under a seed for every random strategy, and the seed matters", async () => {
    const { model, remove } = await tinyModel({ tied: false });
    try {
      for (const init of ["random", "noisy-mean", "mvn-mean", { describe: "the dog", noise: true }] as const) {
        const [a, b, c] = [7, 7, 8].map((seed) => addTokens(model, ["<a>", "<b>"], { init, seed }));
        const rowsOfNew = (r: typeof a) =>
          [r.model.layout.embedding, r.model.layout.head!].map((n) => wholeRows(r.model, n).slice(r.newIds[0], r.newIds[0] + 2));
        assert.deepEqual(rowsOfNew(a), rowsOfNew(b), JSON.stringify(init));
        assert.notDeepEqual(rowsOfNew(a), rowsOfNew(c), JSON.stringify(init));
        const [inputRows, outputRows] = rowsOfNew(a);
        assert.notDeepEqual(inputRows[0], inputRows[1], "two tokens get different draws");
        assert.notDeepEqual(inputRows[0], outputRows[0], "input and output rows get different draws");
        for (const r of [a, b, c]) (r.model as typeof model).dispose([model.weights]);
      }
    } finally {
      model.dispose();
      remove();
    }
  });

  it("keeps tied models tied (Llama and GPT-2)", async () => {
    for (const architecture of ["LlamaForCausalLM", "GPT2LMHeadModel"] as const) {
      const { model, checkpoint, remove } = await tinyModel({ architecture, tied: true });
      try {
        const { model: extended } = addTokens(model, Array.from({ length: 8 }, (_, i) => `<x${i}>`));
        assert.equal(extended.layout.head, null);
        assert.ok(![...extended.weights.keys()].some((n) => n.startsWith("lm_head")), architecture);
        const rows = vocabRows(extended);
        assert.equal(rows, checkpoint.tokenizerSize + 8, `${architecture}: grows past the 5 old padding rows`);
        const logits = extended.logits([[checkpoint.tokenizerSize + 7]]);
        assert.equal(logits.shape[2], rows);
        logits.dispose();
        (extended as typeof model).dispose([model.weights]);
      } finally {
        model.dispose();
        remove();
      }
    }
  });

  it("handles tokens that already exist: skip (reported), error, or reuse (existing id registered as added token, no new row)", async () => {
    const { model, checkpoint, remove } = await tinyModel();
    try {
      const T = checkpoint.tokenizerSize;
      const skipped = addTokens(model, ["the", "<new>"]);
      assert.deepEqual(skipped.skipped, [{ content: "the", id: model.tokenizer.tokenToId("the") }]);
      assert.deepEqual(skipped.newIds, [T]);
      assert.match(skipped[JUPYTER_DISPLAY]()["text/plain"] as string, /skipped "the": already in the vocabulary/);
      assert.throws(() => addTokens(model, ["<new>", "<|endoftext|>"], { onExisting: "error" }), /already in the vocabulary/);
      const reused = addTokens(model, [{ content: "the", singleWord: true }], { onExisting: "reuse" });
      assert.deepEqual(reused.newIds, []);
      assert.equal(reused.tokens[0].id, model.tokenizer.tokenToId("the"));
      const entry = (reused.model.tokenizer.tokenizerJson.added_tokens as any[]).find((t) => t.content === "the");
      assert.equal(entry.single_word, true);
      assert.equal(reused.model.weights.get(model.layout.embedding), model.weights.get(model.layout.embedding), "no new row: still shared");
      for (const r of [skipped, reused]) (r.model as typeof model).dispose([model.weights]);
    } finally {
      model.dispose();
      remove();
    }
  });

  it("rejects bad requests with a clear error and changes nothing", async () => {
    const { model, remove } = await tinyModel();
    try {
      const tensors = tf.memory().numTensors;
      const cases: Array<[() => unknown, RegExp]> = [
        [() => addTokens(model, ["<a>", ""]), /#1 has empty content/],
        [() => addTokens(model, ["<a>", "<b>", "<a>"]), /"<a>" is requested twice/],
        [() => addTokens(model, ["<a>", { content: "<b>", init: { from: "<a>" } }]), /init source "<a>" of "<b>" is itself a token being added/],
        [() => addTokens(model, [{ content: "<b>", init: { interpolate: { from: ["x", "<b>"], alpha: 0.5 } } }]), /itself a token being added/],
        [() => addTokens(model, ["<a>"], { padToMultipleOf: 0 }), /padToMultipleOf must be a finite integer ≥ 1, got 0/],
        [() => addTokens(model, [{ content: "<a>", init: { from: "" } }]), /tokenizes to nothing/],
        [() => addTokens(model, [{ content: "<a>", init: () => [1] }]), /of 32 finite numbers; it returned 1 values/],
        // Typos and wrong types are errors naming the option, never a silent default.
        [() => addTokens(model, ["<a>"], { onExisting: "eror" as "error" }), /addTokens option onExisting must be one of "skip", "error", "reuse", got "eror"/],
        [() => addTokens(model, ["<a>"], { onExsting: "error" } as object), /unknown addTokens option "onExsting"; the options are init, padToMultipleOf, seed, onExisting/],
        [() => addTokens(model, ["<a>"], { seed: 0.5 }), /seed must be a finite integer, got 0.5/],
        [() => addTokens(model, ["<a>"], { init: "meen" as "mean" }), /addTokens option init must be one of "random", "zeros", "mean", "mvn-mean", "noisy-mean", got "meen"/],
        [() => addTokens(model, [{ content: "<a>", special: "yes" as unknown as boolean }]), /token spec #0 \("<a>"\) option special must be true or false, got "yes"/],
        [() => addTokens(model, ["<b>", { content: "<a>", single_word: true } as unknown as string]), /unknown token spec #1 \("<a>"\) option "single_word"; the options are content, init, description, special, lstrip, rstrip, singleWord, normalized/],
        [() => addTokens(model, [{ content: "<a>", init: { from: 99999 as unknown as string } }]), /init.from must be a string or a non-empty list of strings, got 99999/],
        [() => addTokens(model, [{ content: "<a>", init: { interpolate: { from: "x", alpha: 2 } } }]), /init.interpolate.alpha must be a finite number ≥ 0 and ≤ 1, got 2/],
        [() => addTokens(model, [{ content: "<a>", init: { random: { std: -1 } } }]), /init.random.std must be a finite number ≥ 0, got -1/],
        [() => addTokens(model, [{ content: "<a>", init: { describe: "x", nois: true } as object as { describe: string } }]), /unknown token spec #0 \("<a>"\) option "nois" in init; the options are describe, noise/],
        [() => addTokens(model, [{ content: "<a>", init: () => undefined as unknown as number[] }]), /it returned undefined/],
      ];
      for (const [run, message] of cases) {
        assert.throws(run, (error: unknown) => error instanceof AddTokensError && message.test((error as Error).message));
      }
      assert.equal(tf.memory().numTensors, tensors);
      assert.equal(model.tokenizer.tokenToId("<a>"), undefined);
      // The checks accept every valid form, whatever the key order.
      const valid = addTokens(model, [{ content: "<n>", init: { noise: true, describe: "the dog" } }, { content: "<i>", init: { interpolate: { alpha: 0.5, from: ["a", "b"] } } }]);
      assert.deepEqual(valid.tokens.map((t) => t.kind), ["new", "new"]);
      (valid.model as typeof model).dispose([model.weights]);
    } finally {
      model.dispose();
      remove();
    }
  });

  it("refuses a disposed model with an error that says so", async () => {
    const { model, remove } = await tinyModel();
    try {
      model.dispose();
      assert.throws(() => addTokens(model, ["<a>"]), /addTokens: the model was disposed/);
    } finally {
      remove();
    }
  });

  it("displays a table with token, id, flags, init and the 5 nearest existing tokens by cosine similarity", async () => {
    const { model, checkpoint, remove } = await tinyModel({ tied: true });
    try {
      const result = addTokens(model, [{ content: "<sep>", special: true, init: { from: " the" } }, { content: "<d>", description: "the dog" }]);
      const bundle = result[JUPYTER_DISPLAY]();
      const plain = bundle["text/plain"] as string;
      assert.match(plain, /<sep>\s+\d+\s+special\s+from " the"/);
      assert.match(plain, /<d>\s+\d+\s+normalized\s+describe "the dog"/);
      assert.match(bundle["text/html"] as string, /<td>&lt;sep&gt;<\/td>/);
      // Nearest neighbours against a plain-JS cosine computation over the base token rows.
      const embedding = wholeRows(result.model, result.model.layout.embedding);
      const T = checkpoint.tokenizerSize;
      const cosine = (a: number[], b: number[]) => {
        let dot = 0, na = 0, nb = 0;
        for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.sqrt(na * nb);
      };
      const nearest = result.nearest(5);
      result.tokens.forEach((token, k) => {
        const expected = embedding.slice(0, T).map((row, id) => ({ id, s: cosine(embedding[token.id], row) })).sort((a, b) => b.s - a.s).slice(0, 5);
        assert.deepEqual(nearest[k].map((n) => n.id), expected.map((e) => e.id));
        nearest[k].forEach((n, j) => assert.ok(Math.abs(n.similarity - expected[j].s) < 1e-4));
        assert.ok(plain.includes(JSON.stringify(nearest[k][0].token)));
      });
      (result.model as typeof model).dispose([model.weights]);
    } finally {
      model.dispose();
      remove();
    }
  });
});
