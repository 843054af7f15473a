import * as assert from "node:assert/strict";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { addTokens } from "../../lib/tokens/add-tokens";
import { initChooser, previewInit } from "../../lib/tokens/init-chooser";
import { initReport } from "../../lib/tokens/init-report";
import { analyzeText, tokenPlayground } from "../../lib/tokens/token-playground";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { WIDGET_VIEW_MIME } from "../../lib/widgets/widget";
import { FakeComms } from "../fixtures/fake-comms";
import { installFakeHost } from "../fixtures/fake-notebook-host";
import { tinyModel } from "./tiny-model";

const TEXTS = ["the fox sat with the dog.", "where is the fox?"];

/** The latest `value` the kernel sent for a model (open state, then updates). */
function valueOf(comms: FakeComms, id: string): unknown {
  let value: unknown;
  for (const m of comms.sent.filter((m) => m.commId === id)) {
    const state = (m.data as { state?: Record<string, unknown>; method?: string }).state;
    if (state && "value" in state && (m.msgType === "comm_open" || (m.data as { method: string }).method === "update")) value = state.value;
  }
  return value;
}

describe("token playground and init chooser", function () {
  this.timeout(120000);
  let model: TransformerLM;
  let remove: () => void;
  before(async () => ({ model, remove } = await tinyModel()));
  after(() => {
    model.dispose();
    remove();
  });

  it("predicts the top next tokens with the probabilities of a softmax over the last position's logits", () => {
    const analysis = analyzeText(model, "the fox", { topK: 4 });
    const ids = model.tokenizer.encode("the fox");
    assert.deepEqual(analysis.ids, ids);
    const logits = model.logits([ids]).arraySync()[0][ids.length - 1];
    const real = logits.map((value, id) => ({ value, id })).filter(({ id }) => model.tokenizer.idToToken(id) !== undefined);
    const max = Math.max(...real.map((r) => r.value));
    const z = real.reduce((sum, r) => sum + Math.exp(r.value - max), 0);
    const expected = real.map((r) => ({ id: r.id, p: Math.exp(r.value - max) / z })).sort((a, b) => b.p - a.p).slice(0, 4);
    assert.deepEqual(analysis.predictions.map((p) => p.id), expected.map((e) => e.id));
    analysis.predictions.forEach((p, i) => assert.ok(Math.abs(p.probability - expected[i].p) < 1e-5, `${p.probability} vs ${expected[i].p}`));
  });

  it("marks the new tokens in the tokenization and the predictions", () => {
    const added = addTokens(model, ["<think>"], { init: "mean" });
    try {
      const analysis = analyzeText(added.model, "a <think> b", { newIds: added.newIds, topK: added.model.tokenizer.size });
      assert.deepEqual(analysis.pieces.filter((p) => p.isNew).map((p) => [p.text, p.id]), [["<think>", added.newIds[0]]]);
      assert.ok(analysis.predictions.some((p) => p.isNew && p.id === added.newIds[0]), "the new token is among all predictions, marked");
      const html = String(analysis[JUPYTER_DISPLAY]()["text/html"]);
      assert.match(html, /class="tokenlab-token tokenlab-new-token"[^>]*>&lt;think&gt;</);
      assert.match(String(analysis[JUPYTER_DISPLAY]()["text/plain"]), /\[<think>\]/);
    } finally {
      (added.model as TransformerLM).dispose([model.weights]);
    }
  });

  it("without widgets it displays the analysis of the initial text (no widget view)", () => {
    const bundle = tokenPlayground(model, { text: "the dog" })[JUPYTER_DISPLAY]();
    assert.equal(bundle[WIDGET_VIEW_MIME], undefined);
    assert.equal(bundle["text/html"], analyzeText(model, "the dog")[JUPYTER_DISPLAY]()["text/html"]);
  });

  it("with widgets, typing into the text box redraws the output area in the kernel", () => {
    const comms = new FakeComms();
    const host = installFakeHost(comms);
    try {
      const playground = tokenPlayground(model, { text: "" });
      const bundle = playground[JUPYTER_DISPLAY]();
      assert.equal((bundle[WIDGET_VIEW_MIME] as { model_id: string }).model_id, playground.view.modelId);
      comms.frontendSend(playground.input.modelId, { method: "update", state: { value: "where is the fox" }, buffer_paths: [] });
      assert.equal(valueOf(comms, playground.output.modelId), analyzeText(model, "where is the fox")[JUPYTER_DISPLAY]()["text/html"]);
    } finally {
      host.remove();
    }
  });

  it("the init chooser shows initReport's numbers for the chosen strategy; mean stays under Hewitt's bound", () => {
    const comms = new FakeComms();
    const host = installFakeHost(comms);
    try {
      const chooser = initChooser(model, { texts: TEXTS, token: "<tool>" });
      const labels = chooser.strategy.get("_options_labels");
      comms.frontendSend(chooser.strategy.modelId, { method: "update", state: { index: labels.indexOf("zeros") }, buffer_paths: [] });
      const zerosHtml = String(valueOf(comms, chooser.output.modelId));
      const reference = addTokens(model, "<tool>", { init: "zeros" });
      try {
        const expected = String(initReport(model, { zeros: reference }, TEXTS)[JUPYTER_DISPLAY]()["text/html"]);
        assert.ok(zerosHtml.includes(expected), "the output holds initReport's table for zeros");
      } finally {
        (reference.model as TransformerLM).dispose([model.weights]);
      }
      comms.frontendSend(chooser.strategy.modelId, { method: "update", state: { index: labels.indexOf("mean") }, buffer_paths: [] });
      const mean = previewInit(model, "<tool>", "mean", "mean", TEXTS);
      assert.ok(mean.report.rows[0].klMean <= mean.report.rows[0].klBound + 1e-6);
      assert.equal(valueOf(comms, chooser.output.modelId), mean[JUPYTER_DISPLAY]()["text/html"]);
      assert.match(String(valueOf(comms, chooser.output.modelId)), /nearest existing tokens/);
      comms.frontendSend(chooser.token.modelId, { method: "update", state: { value: "" }, buffer_paths: [] });
      assert.match(String(valueOf(comms, chooser.output.modelId)), /tokenlab-error[^>]*>type a token/);
    } finally {
      host.remove();
    }
  });
});
