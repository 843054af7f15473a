import assert from "node:assert/strict";
import { join } from "node:path";
import { inspect } from "node:util";
import { evaluate } from "../../lib/analysis/evaluate";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { addTokens } from "../../lib/tokens/add-tokens";
import { train } from "../../lib/train/train";
import { numpy } from "../tokens/numpy";
import { tinyModel } from "../tokens/tiny-model";
import { disposeModels, trainFixture } from "../train/train-fixture";
import { vocabRows } from "../../lib/models/model-rows";

/** Parameter count from the safetensors header, read by Python alone. */
function parametersOnDisk(dir: string): number {
  return numpy(
    [
      "raw = open(data['file'], 'rb').read()",
      "header = json.loads(raw[8:8 + int.from_bytes(raw[:8], 'little')])",
      "result = int(sum(np.prod(v['shape']) for k, v in header.items() if k != '__metadata__'))",
    ].join("\n"),
    { file: join(dir, "model.safetensors") },
  );
}

describe("model displays: a summary, not a dump of tensors", function () {
  this.timeout(120_000);

  for (const tied of [true, false]) {
    it(`shows ${tied ? "a tied" : "an untied"} model as architecture, parameters, vocabulary rows vs tokenizer, head, dtype, backend`, async () => {
      const { model, checkpoint, remove } = await tinyModel({ tied });
      try {
        const text = inspect(model);
        assert.ok(text.length < 1000, `util.inspect gives ${text.length} characters`);
        const parameters = parametersOnDisk(checkpoint.dir);
        const rows = model.weights.get(model.layout.embedding)!.shape[0];
        assert.match(text, new RegExp(`architecture +${model.config.architecture}: ${model.config.numLayers} layers`));
        assert.ok(text.includes(`(${parameters.toLocaleString("en-US")})`), `${parameters} parameters in\n${text}`);
        assert.ok(text.includes(`${rows.toLocaleString("en-US")} embedding rows, tokenizer ${checkpoint.tokenizerSize.toLocaleString("en-US")} ids`), text);
        assert.match(text, tied ? /output head +tied to the input embedding/ : /output head +separate \(lm_head\.weight\)/);
        assert.match(text, /dtype +float32/);
        assert.match(text, /backend +\S/);
        const bundle = model[JUPYTER_DISPLAY]();
        assert.equal(bundle["text/plain"], text);
        assert.match(bundle["text/html"] as string, /^<table class="tokenlab-table"><caption>TransformerLM<\/caption>/);
        assert.ok((bundle["text/html"] as string).length < 2000);
        const added = addTokens(model, [{ content: "<brand-new>" }]);
        const addedRows = vocabRows(added.model);
        assert.ok(inspect(added.model).includes(`${addedRows} embedding rows, tokenizer ${checkpoint.tokenizerSize + 1} ids`), inspect(added.model));
        disposeModels(model, added.model);
      } finally {
        model.dispose();
        remove();
      }
    });
  }

  it("TrainResult carries newIds, so evaluate(result, data) scores the new tokens, and inspects in a few lines", async () => {
    const fx = await trainFixture();
    try {
      const result = await train({ model: fx.model, newIds: fx.newIds }, fx.data, { strategy: "new-rows", steps: 2, batchSize: 4, lr: 0.05, seed: 0 });
      assert.deepEqual([...result.newIds], fx.newIds);
      const direct = evaluate(result, fx.data);
      const byHand = evaluate({ model: result.model, newIds: fx.newIds }, fx.data);
      assert.deepEqual(direct.metrics.emissions.map((e) => e.id), fx.newIds);
      assert.deepEqual(direct.metrics, byHand.metrics);
      const text = inspect(result);
      assert.ok(text.length < 2000, `util.inspect gives ${text.length} characters`);
      assert.match(text, /^TrainResult: completed after 2 steps/);
      assert.match(text, /TransformerLM/);
      disposeModels(fx.model, result.model, result.latest);
    } finally {
      fx.cleanup();
    }
  });
});
