/**
 * addTokens shares the embedding and head with the base model (the new rows are the extended
 * model's overlays). The extended model must compute exactly what the old whole-matrix model did:
 * its logits equal those of a model whose matrices are built here by plain concatenation, also for
 * ids past the stored matrix, after a second addTokens and after a save → load round trip.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import type { CausalLM } from "../../lib/models/causal-lm";
import { loadModel, saveModel } from "../../lib/models/load-model";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { addTokens } from "../../lib/tokens/add-tokens";
import { tinyModel } from "./tiny-model";

/** The matrices of `extended` built by hand: the base rows, then each overlay row written at its id. */
function referenceModel(base: TransformerLM, extended: CausalLM): TransformerLM {
  const weights = new Map(base.weights);
  for (const [name, overlay] of extended.overlays) {
    const rows = base.weights.get(name)!.arraySync() as number[][];
    const added = overlay.rows.arraySync() as number[][];
    overlay.ids.forEach((id, j) => (rows[id] = added[j]));
    assert.ok(rows.every((row) => row !== undefined), `${name}: the overlay leaves no gap`);
    weights.set(name, tf.tensor2d(rows));
  }
  return base.withChanges({ weights, config: extended.config, tokenizer: extended.tokenizer });
}

function assertLogitsClose(actual: CausalLM, expected: CausalLM, ids: number[][], label: string): void {
  const [a, e] = [actual.logits(ids), expected.logits(ids)];
  assert.deepEqual(a.shape, e.shape, label);
  const [av, ev] = [a.dataSync(), e.dataSync()];
  let worst = 0;
  for (let i = 0; i < av.length; i++) worst = Math.max(worst, Math.abs(av[i] - ev[i]));
  tf.dispose([a, e]);
  assert.ok(worst < 1e-4, `${label}: logits differ by ${worst}`);
}

describe("addTokens shares the frozen matrices with the base model", function () {
  this.timeout(120_000);

  for (const tied of [false, true]) {
    it(`${tied ? "tied" : "untied"}: logits equal the whole-matrix model's, also past the stored rows, chained, and after save → load`, async () => {
      const { model, checkpoint, remove } = await tinyModel({ tied, seed: 11 });
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-shared-"));
      const T = checkpoint.tokenizerSize;
      const storedRows = model.weights.get(model.layout.embedding)!.shape[0];
      try {
        // 8 tokens: 5 take over the old padding rows, 3 go past the stored matrix; padding to 16 adds more.
        const first = addTokens(model, Array.from({ length: 8 }, (_, i) => `<n${i}>`), { padToMultipleOf: 16, seed: 3, init: "noisy-mean" });
        const extended = first.model as TransformerLM;
        for (const [name, tensor] of model.weights) assert.equal(extended.weights.get(name), tensor, `${name} is shared`);
        const ids = [[T + 7, 3, T, T + 5, storedRows + 2, 9]];
        const reference = referenceModel(model, extended);
        assertLogitsClose(extended, reference, ids, "extended");
        assert.deepEqual((await extended.generate(ids[0], { maxNewTokens: 4 })).ids, (await reference.generate(ids[0], { maxNewTokens: 4 })).ids);

        const second = addTokens(extended, ["<m0>", "<m1>"], { seed: 4 });
        const twice = second.model as TransformerLM;
        assert.equal(twice.weights.get(model.layout.embedding), model.weights.get(model.layout.embedding), "still the base tensor");
        const secondReference = referenceModel(model, twice);
        assertLogitsClose(twice, secondReference, [[...ids[0], T + 8, T + 9]], "extended twice");

        await saveModel(twice, out);
        const loaded = await loadModel(out);
        assert.equal(loaded.overlays.size, 0);
        assertLogitsClose(loaded, twice, [[...ids[0], T + 8, T + 9]], "saved and loaded");

        loaded.dispose();
        for (const variant of [reference, secondReference]) variant.dispose([model.weights]);
        twice.dispose([model.weights]);
        extended.dispose([model.weights]);
      } finally {
        model.dispose();
        fs.rmSync(out, { recursive: true, force: true });
        remove();
      }
    });
  }
});
