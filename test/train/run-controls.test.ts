import * as assert from "node:assert/strict";
import type { Run, TrainResult } from "../../lib/train/run";
import { train } from "../../lib/train/train";
import { WIDGET_VIEW_MIME } from "../../lib/widgets/widget";
import { FakeComms } from "../fixtures/fake-comms";
import { installFakeHost, type FakeNotebookHost } from "../fixtures/fake-notebook-host";
import { disposeModels, wholeBytes, trainFixture, type TrainFixture } from "./train-fixture";

/** The comm ids of the newest run controls, found by their state as the frontend would see it. */
function controlsOf(comms: FakeComms): Record<"stop" | "pause" | "lr" | "status", string> {
  const opened = comms.sent.filter((m) => m.msgType === "comm_open").map((m) => ({ id: m.commId, state: stateOf(comms, m.commId) }));
  const find = (test: (state: Record<string, unknown>) => boolean) => opened.filter((o) => test(o.state)).map((o) => o.id).pop()!;
  return {
    stop: find((s) => s._model_name === "ButtonModel" && s.description === "Stop"),
    pause: find((s) => s._model_name === "ButtonModel" && /Pause|Resume/.test(String(s.description))),
    lr: find((s) => s._model_name === "FloatTextModel"),
    status: find((s) => s._model_name === "HTMLModel" && String(s.value).includes("tokenlab-run-status")),
  };
}

/** The latest state the kernel sent for one model (open, then updates). */
function stateOf(comms: FakeComms, id: string): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const m of comms.sent.filter((m) => m.commId === id)) {
    const data = m.data as { state?: Record<string, unknown>; method?: string };
    if (m.msgType === "comm_open" || data.method === "update") Object.assign(state, data.state);
  }
  return state;
}

const click = (comms: FakeComms, id: string) => comms.frontendSend(id, { method: "custom", content: { event: "click" } });

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(condition(), "condition never held");
}

describe("run controls (Stop, Pause/Resume, learning rate) as widgets on the live display", function () {
  this.timeout(120000);
  let fx: TrainFixture;
  let comms: FakeComms;
  let host: FakeNotebookHost;
  before(async () => (fx = await trainFixture()));
  after(() => fx.cleanup());
  beforeEach(() => {
    comms = new FakeComms();
    host = installFakeHost(comms);
  });
  afterEach(() => host.remove());

  function start(steps: number, onStep?: (step: number) => void): Run {
    return train({ model: fx.model, newIds: fx.newIds }, fx.data, { steps, batchSize: 4, seed: 3, onStep: (record) => onStep?.(record.step) });
  }

  it("a Stop click between steps stops the run at that step boundary, with the weights of a run of exactly that many steps", async () => {
    // The click is queued on the event loop during step 3, as a comm message arriving while the cell runs would be.
    const run = start(50, (step) => step === 3 && setImmediate(() => click(comms, controlsOf(comms).stop)));
    const result = await run;
    assert.equal(result.status, "stopped");
    assert.equal(result.steps, 3);
    const ids = controlsOf(comms);
    assert.equal(stateOf(comms, ids.stop).disabled, true, "Stop is disabled once the run ended");
    assert.equal(stateOf(comms, ids.pause).disabled, true);
    assert.match(String(stateOf(comms, ids.status).value), /stopped at step 3/);

    const reference = await start(3);
    assert.equal(reference.status, "completed");
    const embedding = fx.model.layout.embedding;
    assert.ok(wholeBytes(result.latest, embedding).equals(wholeBytes(reference.latest, embedding)), "same weights as 3 steps");
    assert.ok(!wholeBytes(result.latest, embedding).equals(wholeBytes(fx.model, embedding)), "it trained");
    cleanup(run, result);
    cleanup(undefined, reference);
  });

  it("Pause waits at the step boundary (the cell's await stays pending) until Resume; the button follows", async () => {
    const run = start(6, (step) => step === 2 && setImmediate(() => click(comms, controlsOf(comms).pause)));
    let settled = false;
    void run.then(() => (settled = true));
    await until(() => run.events.some((e) => e.kind === "paused"));
    const ids = controlsOf(comms);
    for (let i = 0; i < 200; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(run.completedSteps, 2);
    assert.equal(settled, false);
    assert.equal(stateOf(comms, ids.pause).description, "Resume");
    assert.match(String(stateOf(comms, ids.status).value), /paused at step 2/);
    click(comms, ids.pause);
    const result = await run;
    assert.equal(result.status, "completed");
    assert.equal(result.steps, 6);
    assert.deepEqual(run.events.filter((e) => e.kind === "paused" || e.kind === "resumed").map((e) => [e.kind, e.step]), [["paused", 2], ["resumed", 2]]);
    cleanup(run, result);
  });

  it("Stop while paused ends the run at once", async () => {
    const run = start(6, (step) => step === 1 && setImmediate(() => click(comms, controlsOf(comms).pause)));
    await until(() => run.paused && run.events.some((e) => e.kind === "paused"));
    click(comms, controlsOf(comms).stop);
    const result = await run;
    assert.deepEqual([result.status, result.steps], ["stopped", 1]);
    cleanup(run, result);
  });

  it("the notebook's interrupt ends a paused run (the wait also watches the cell's signal)", async () => {
    const run = start(6, (step) => step === 1 && setImmediate(() => click(comms, controlsOf(comms).pause)));
    await until(() => run.events.some((e) => e.kind === "paused"));
    host.controller.abort();
    const result = await run;
    assert.deepEqual([result.status, result.steps], ["interrupted", 1]);
    cleanup(run, result);
  });

  it("a learning rate typed in the field applies from the next step on, and a bad one is refused", async () => {
    const run = start(4, (step) => {
      if (step === 2) setImmediate(() => comms.frontendSend(controlsOf(comms).lr, { method: "update", state: { value: 0.05 }, buffer_paths: [] }));
    });
    const result = await run;
    const base = run.history[0].lr;
    assert.notEqual(base, 0.05);
    assert.deepEqual(run.history.map((r) => r.lr), [base, base, 0.05, 0.05]);
    assert.ok(run.events.some((e) => e.kind === "lr" && e.step === 2));
    const unchanged = await start(4);
    const embedding = fx.model.layout.embedding;
    assert.ok(!wholeBytes(result.latest, embedding).equals(wholeBytes(unchanged.latest, embedding)), "the new rate changed the training");
    const lr = controlsOf(comms).lr;
    comms.frontendSend(lr, { method: "update", state: { value: -1 }, buffer_paths: [] });
    assert.equal(run.learningRate, 0.05);
    cleanup(run, result);
    cleanup(undefined, unchanged);
  });

  it("the progress output carries the widget view and keeps the progress bar's HTML and text for other frontends", async () => {
    const run = start(2);
    const result = await run;
    const progress = host.shown.filter((s) => /tokenlab-progress/.test(String(s.bundle["text/html"])));
    const last = progress[progress.length - 1].bundle;
    const view = last[WIDGET_VIEW_MIME] as { model_id: string };
    assert.ok(view.model_id);
    const box = comms.sent.find((m) => m.msgType === "comm_open" && m.commId === view.model_id)!;
    assert.equal((box.data as { state: { _model_name: string } }).state._model_name, "VBoxModel");
    assert.match(String(last["text/plain"]), /2\/2/);
    cleanup(run, result);
  });

  function cleanup(run: Run | undefined, result: TrainResult): void {
    run?.dispose();
    disposeModels(fx.model, result.latest, result.best?.model);
  }
});
