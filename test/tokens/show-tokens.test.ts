import * as assert from "node:assert/strict";
import { AddedToken, Tokenizer } from "@anush008/tokenizers";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { HfTokenizer } from "../../lib/hf/tokenizer";
import { showTokens } from "../../lib/tokens/show-tokens";
import { resolveTokenSpec } from "../../lib/tokens/token-spec";
import { planTokens, withAddedTokens } from "../../lib/tokens/tokenizer-edit";
import { buildTinyTokenizer } from "../fixtures/tiny-tokenizer";

describe("showTokens", () => {
  it("shows every piece, highlights added tokens (special ones differently) and escapes HTML", async () => {
    const tiny = buildTinyTokenizer();
    const base = HfTokenizer.fromJson(tiny.tokenizerJson, tiny.tokenizerConfig);
    const specs = ["<sep>", { content: "<tool>", special: true }, { content: "dog", singleWord: true }].map(resolveTokenSpec);
    const tokenizer = withAddedTokens(base, planTokens(base, specs, "reuse").tokens);
    // "hotdog": single_word keeps "dog" inside a word un-split in Python; showTokens must agree.
    const text = "the dog<sep>sat\n<tool> & <b> hotdog";
    const view = showTokens(tokenizer, text);
    const rust = Tokenizer.fromString(JSON.stringify(tiny.tokenizerJson));
    rust.addTokens(["<sep>"]);
    rust.addSpecialTokens(["<tool>"]);
    rust.addAddedTokens([new AddedToken("dog", false, { singleWord: true })]);
    assert.deepEqual(view.ids, (await rust.encode(text, null, { addSpecialTokens: false })).getIds());
    assert.equal(view.pieces.map((p) => p.text).join(""), text);
    assert.deepEqual(view.pieces.filter((p) => p.added).map((p) => [p.text, p.special]), [["dog", false], ["<sep>", false], ["<tool>", true]]);
    const bundle = view[JUPYTER_DISPLAY]();
    assert.match(bundle["text/plain"] as string, /\|\[<sep>\]\|s.*⏎\|\[<tool>\]\|/);
    const html = bundle["text/html"] as string;
    assert.match(html, /title="id \d+ · added, special"[^>]*>&lt;tool&gt;<\/span>/);
    assert.ok(!html.includes("<b>"), "text is escaped");
  });
});
