import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { baseModelDir, loadBaseModel } from "../../lib/base-model";
import { loadModel } from "../../lib/models/load-model";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { readBrownDocuments, splitBrownDocuments } from "../../scripts/base-model/brown-corpus";
import { nearestRows, wordNeighbours } from "../../scripts/base-model/embedding-neighbours";

describe("bundled base model", () => {
  let model: TransformerLM;
  before(async () => {
    model = await loadBaseModel();
  });
  after(() => model?.dispose());

  it("loads as a tied LlamaForCausalLM whose rows match its tokenizer", () => {
    assert.equal(model.config.architecture, "LlamaForCausalLM");
    assert.equal(model.config.tieWordEmbeddings, true);
    assert.equal(model.layout.head, null);
    assert.deepEqual(model.weights.get("model.embed_tokens.weight")!.shape, [model.tokenizer.size, model.config.hiddenSize]);
    assert.equal(model.tokenizer.eosTokenId, model.tokenizer.tokenToId("<|endoftext|>"));
    const card = fs.readFileSync(path.join(baseModelDir(), "README.md"), "utf8");
    assert.match(card, /perplexity/);
    assert.ok(fs.statSync(path.join(baseModelDir(), "model.safetensors")).size < 16 * 2 ** 20, "a few MB, not more");
  });

  it("is what loadModel() loads when no directory is given", async () => {
    const byDefault = await loadModel();
    try {
      assert.deepEqual(byDefault.config.raw, model.config.raw);
      for (const [name, tensor] of model.weights) {
        assert.deepEqual(byDefault.weights.get(name)!.dataSync(), tensor.dataSync(), name);
      }
    } finally {
      byDefault.dispose();
    }
  });

  it("predicts held-out Brown text far better than the held-out text's own unigram distribution", () => {
    const { heldOut } = splitBrownDocuments(readBrownDocuments());
    const ids = heldOut.map((document) => model.tokenizer.encode(document.text)).flat();
    // Unigram fitted on all held-out tokens (it has seen the evaluated ones: an optimistic baseline).
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);

    const windows = 8;
    const length = model.config.maxPositionEmbeddings;
    const stride = Math.floor((ids.length - length - 1) / windows);
    const rows = Array.from({ length: windows }, (_, w) => ids.slice(w * stride, w * stride + length + 1));
    const logitsTensor = model.logits(rows.map((row) => row.slice(0, length)));
    const logits = logitsTensor.dataSync() as Float32Array;
    logitsTensor.dispose();
    const vocab = model.weights.get(model.layout.embedding)!.shape[0];
    let modelNats = 0;
    let unigramNats = 0;
    rows.forEach((row, w) => {
      for (let t = 0; t < length; t++) {
        const at = (w * length + t) * vocab;
        let max = -Infinity;
        for (let v = 0; v < vocab; v++) max = Math.max(max, logits[at + v]);
        let sum = 0;
        for (let v = 0; v < vocab; v++) sum += Math.exp(logits[at + v] - max);
        modelNats += max + Math.log(sum) - logits[at + row[t + 1]];
        unigramNats -= Math.log(counts.get(row[t + 1])! / ids.length);
      }
    });
    const modelPerplexity = Math.exp(modelNats / (windows * length));
    const unigramPerplexity = Math.exp(unigramNats / (windows * length));
    assert.ok(
      modelPerplexity < 0.5 * unigramPerplexity,
      `model perplexity ${modelPerplexity.toFixed(1)} vs unigram ${unigramPerplexity.toFixed(1)}`,
    );
  });

  it("has embeddings in which number words are neighbours", () => {
    const embedding = model.weights.get(model.layout.embedding)!;
    const data = embedding.dataSync() as Float32Array;
    const hidden = embedding.shape[1] as number;
    const numberWords = new Set(["one", "two", "four", "five", "six", "seven", "eight", "nine", "ten", "several", "few"]);
    const neighbours = wordNeighbours(model.tokenizer, data, hidden, "three", 10).map((n) => n.token.trim());
    assert.ok(
      neighbours.some((token) => numberWords.has(token)),
      `neighbours of "three": ${neighbours.join(", ")}`,
    );
  });
});

describe("nearest embedding rows", () => {
  it("ranks rows by cosine, skips the row itself and all-zero rows", () => {
    // Row 0 is the query; row 3 points the same way (cosine 1), row 1 at 45°, row 2 opposite, row 4 zero.
    const embedding = Float32Array.from([1, 0, 1, 1, -1, 0, 5, 0, 0, 0]);
    const result = nearestRows(embedding, 2, 0, 3);
    assert.deepEqual(result.map((r) => r.id), [3, 1, 2]);
    assert.ok(Math.abs(result[0].cosine - 1) < 1e-6 && Math.abs(result[1].cosine - Math.SQRT1_2) < 1e-6);
    assert.ok(Math.abs(result[2].cosine + 1) < 1e-6);
  });
});
