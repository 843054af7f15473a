import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { Tokenizer, byteLevelAlphabet } from "@anush008/tokenizers";
import { HfTokenizer } from "../../lib/hf/tokenizer";
import { baseModelDir } from "../../lib/base-model";
import { readBrownDocuments, splitBrownDocuments } from "../../scripts/base-model/brown-corpus";
import { trainBaseTokenizer } from "../../scripts/base-model/base-tokenizer";
import { byteAlphabet } from "../../lib/hf/tokenizer-json-parts";

describe("base model tokenizer", () => {
  const { train, heldOut } = splitBrownDocuments(readBrownDocuments());
  const heldOutText = heldOut.map((document) => document.text).join("\n");
  const tokenizerFile = path.join(baseModelDir(), "tokenizer.json");

  it("encodes held-out Brown text exactly as the Hugging Face Rust tokenizers library does", async () => {
    const js = HfTokenizer.fromDirectory(baseModelDir());
    const rust = Tokenizer.fromFile(tokenizerFile);
    const jsIds = js.encode(heldOutText);
    const rustIds = (await rust.encode(heldOutText, null, { addSpecialTokens: false })).getIds();
    assert.ok(jsIds.length > 40_000, `held-out slice has ${jsIds.length} tokens`);
    assert.deepEqual(jsIds, rustIds);
    assert.equal(js.decode(jsIds), heldOutText);
    assert.equal(await rust.decode(rustIds, false), heldOutText);
  });

  it("keeps <|endoftext|> and <|pad|> whole and encodes any bytes (full byte alphabet)", async () => {
    const js = HfTokenizer.fromDirectory(baseModelDir());
    const rust = Tokenizer.fromFile(tokenizerFile);
    const text = "<|endoftext|>Naïve café — 東京 🙂<|pad|>";
    const jsIds = js.encode(text);
    assert.deepEqual(jsIds, (await rust.encode(text, null, { addSpecialTokens: false })).getIds());
    assert.equal(jsIds[0], rust.tokenToId("<|endoftext|>"));
    assert.equal(jsIds[jsIds.length - 1], rust.tokenToId("<|pad|>"));
    assert.equal(js.decode(jsIds), text);
    assert.deepEqual(new Set(byteAlphabet()), new Set(byteLevelAlphabet()));
    assert.equal(rust.getVocabSize(true), JSON.parse(fs.readFileSync(path.join(baseModelDir(), "config.json"), "utf8")).vocab_size);
  });

  it("is reproduced exactly by the committed training code", () => {
    const retrained = trainBaseTokenizer(train);
    const shipped = JSON.parse(fs.readFileSync(tokenizerFile, "utf8"));
    assert.deepEqual(retrained.tokenizerJson, shipped);
  });
});
