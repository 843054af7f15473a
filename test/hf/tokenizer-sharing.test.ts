/**
 * A tokenizer extended by added tokens shares the parsed model vocab of its base (see
 * HfTokenizer.withAddedTokens); it must behave exactly like the same JSON parsed from scratch.
 */
import * as assert from "node:assert/strict";
import { HfTokenizer } from "../../lib/hf/tokenizer";
import { resolveTokenSpec } from "../../lib/tokens/token-spec";
import { planTokens, withAddedTokens } from "../../lib/tokens/tokenizer-edit";
import { QWEN3_TOKENIZER_DIR } from "../fixtures/tiny-checkpoint";
import { parityTokens, textsWith } from "../tokens/parity-corpus";

/** Every observable of `ours` equals that of `fresh` (size, both tables, encode, decode). */
function assertSameTokenizer(ours: HfTokenizer, fresh: HfTokenizer, added: string[]): void {
  assert.equal(ours.size, fresh.size);
  for (let id = 0; id < fresh.size + 2; id++) {
    const token = fresh.idToToken(id);
    assert.equal(ours.idToToken(id), token, `id ${id}`);
    if (token !== undefined) assert.equal(ours.tokenToId(token), fresh.tokenToId(token), token);
  }
  for (const content of added) {
    for (const text of textsWith(content)) assert.deepEqual(ours.encode(text), fresh.encode(text), text);
    const ids = ours.encode(`a ${content} b`);
    for (const skipSpecialTokens of [false, true]) assert.equal(ours.decode(ids, { skipSpecialTokens }), fresh.decode(ids, { skipSpecialTokens }));
  }
}

describe("HfTokenizer.withAddedTokens (shared vocab) on the 151k Qwen3 tokenizer", function () {
  this.timeout(300_000);
  const base = HfTokenizer.fromDirectory(QWEN3_TOKENIZER_DIR);
  const first = parityTokens().slice(0, 16).map(resolveTokenSpec);
  const second = parityTokens().slice(16, 24).map(resolveTokenSpec);

  it("gives the tokenizer that parsing its JSON from scratch gives", () => {
    const ours = withAddedTokens(base, planTokens(base, first).tokens);
    assertSameTokenizer(ours, HfTokenizer.fromJson(ours.tokenizerJson, ours.tokenizerConfig), first.map((s) => s.content));
  });

  it("also when extended twice, and leaves the base as it was", () => {
    const once = withAddedTokens(base, planTokens(base, first).tokens);
    const twice = withAddedTokens(once, planTokens(once, second).tokens);
    assertSameTokenizer(twice, HfTokenizer.fromJson(twice.tokenizerJson, twice.tokenizerConfig), [...first, ...second].map((s) => s.content));
    assertSameTokenizer(base, HfTokenizer.fromDirectory(QWEN3_TOKENIZER_DIR), []);
    assert.equal(base.tokenToId(first[0].content), undefined);
  });
});
