import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { baseModelDir, loadBaseModel } from "../../lib/base-model";
import { EOS_TOKEN_ID } from "../../scripts/base-model/base-model-spec";
import { readBrownDocuments, splitBrownDocuments } from "../../scripts/base-model/brown-corpus";
import { heldOutLoss, heldOutWindows } from "../../scripts/base-model/held-out-loss";
import { tokenStream } from "../../scripts/base-model/token-windows";

/** Decimal places of a number as the card prints it ("5.073" → 3). */
const decimals = (printed: string) => printed.split(".")[1]?.length ?? 0;

describe("bundled base model card", () => {
  it("states the held-out loss and perplexity that the shipped weights give on the held-out texts", async function () {
    this.timeout(300_000); // the full held-out split: ~20 s on 2 idle cores
    const card = fs.readFileSync(path.join(baseModelDir(), "README.md"), "utf8");
    const row = /^\| this model \| ([\d.]+) \| \*\*([\d.]+)\*\* \|/m.exec(card);
    assert.ok(row, "the card has a 'this model' row with loss and perplexity");
    const [, statedLoss, statedPerplexity] = row;
    const statedTokens = /held out the last text of every genre[^\n]*\n\s*([\d,]+) tokens/.exec(card);
    assert.ok(statedTokens, "the card states the held-out token count");

    const model = await loadBaseModel();
    try {
      const { heldOut } = splitBrownDocuments(readBrownDocuments());
      const stream = tokenStream(model.tokenizer, heldOut.map((document) => document.text), EOS_TOKEN_ID);
      assert.equal(stream.length.toLocaleString("en-US"), statedTokens[1], "same held-out split and tokenizer");
      const loss = heldOutLoss(model, model.weights, heldOutWindows(stream));
      assert.equal(loss.toFixed(decimals(statedLoss)), statedLoss, `held-out loss ${loss}`);
      assert.equal(Math.exp(loss).toFixed(decimals(statedPerplexity)), statedPerplexity, `held-out perplexity ${Math.exp(loss)}`);
    } finally {
      model.dispose();
    }
  });
});
