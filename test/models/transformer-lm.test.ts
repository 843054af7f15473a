import * as assert from "node:assert/strict";
import { tinyModel } from "../tokens/tiny-model";

describe("TransformerLM", function () {
  this.timeout(60_000);

  it("refuses generate and logits on a disposed model with an error that says so (not tfjs's 'Tensor is disposed')", async () => {
    const { model, remove } = await tinyModel();
    try {
      model.dispose();
      assert.throws(() => model.generate("the fox"), /generate: the model was disposed \(its tensor model\.embed_tokens\.weight is freed\)/);
      assert.throws(() => model.logits([[1, 2]]), /logits: the model was disposed/);
    } finally {
      remove();
    }
  });
});
