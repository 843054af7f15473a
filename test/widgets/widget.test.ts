import assert from "node:assert/strict";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { putBuffers, removeBuffers } from "../../lib/widgets/buffers";
import { Button, Dropdown, hbox, Layout, Text } from "../../lib/widgets/controls";
import { Widget, WIDGET_VIEW_MIME } from "../../lib/widgets/widget";
import { WidgetError } from "../../lib/widgets/widget-error";
import { FakeComms } from "../fixtures/fake-comms";
import { installFakeHost, type FakeNotebookHost } from "../fixtures/fake-notebook-host";

/** A bare model with two numbers, like the widgets of ipywidgets' own test_set_state.py. */
function valueWidget(): Widget<{ _model_name: string; value: number; other: number }> {
  return new Widget({ _model_name: "ValueModel", value: 1, other: 0 });
}

describe("widget protocol 2.1 (state sync against transcripts from the spec)", () => {
  let comms: FakeComms;
  let host: FakeNotebookHost;

  beforeEach(() => {
    comms = new FakeComms();
    host = installFakeHost(comms);
  });
  afterEach(() => host.remove());

  it("opens a jupyter.widget comm with protocol version 2.1.0 metadata and the whole state", () => {
    const button = new Button({ description: "Stop", button_style: "danger" });
    const [open] = comms.take(button.modelId);
    assert.equal(open.msgType, "comm_open");
    assert.equal(open.targetName, "jupyter.widget");
    assert.deepEqual(open.metadata, { version: "2.1.0" });
    const { state, buffer_paths } = open.data as { state: Record<string, unknown>; buffer_paths: unknown[] };
    assert.deepEqual(buffer_paths, []);
    assert.equal(state._model_name, "ButtonModel");
    assert.equal(state._model_module, "@jupyter-widgets/controls");
    assert.equal(state._model_module_version, "2.0.0");
    assert.equal(state._view_name, "ButtonView");
    assert.equal(state._view_module_version, "2.0.0");
    assert.equal(state.description, "Stop");
    assert.equal(state.button_style, "danger");
  });

  it("displays as a widget view (version 2.0, model_id = comm id) with a text/plain fallback", () => {
    const button = new Button({ description: "Stop" });
    const bundle = button[JUPYTER_DISPLAY]();
    assert.deepEqual(bundle[WIDGET_VIEW_MIME], { version_major: 2, version_minor: 0, model_id: button.modelId });
    assert.match(String(bundle["text/plain"]), /^Button\(description="Stop"/);
  });

  it("kernel-side set sends one update with the changed keys only; an unchanged value sends nothing", () => {
    const widget = valueWidget();
    comms.take();
    widget.set({ value: 2, other: 0 });
    assert.deepEqual(comms.take().map((m) => m.data), [{ method: "update", state: { value: 2 }, buffer_paths: [] }]);
    widget.set({ value: 2 });
    assert.deepEqual(comms.take(), []);
  });

  it("frontend update: echo_update first, then the change reaches on() handlers in the kernel (ipywidgets test_echo)", () => {
    const widget = valueWidget();
    const seen: unknown[] = [];
    widget.on("value", (change) => seen.push([change.name, change.old, change.new]));
    comms.take();
    comms.frontendSend(widget.modelId, { method: "update", state: { value: 42, unexpected_field: 43 }, buffer_paths: [] });
    assert.deepEqual(comms.take().map((m) => m.data), [{ method: "echo_update", state: { value: 42 }, buffer_paths: [] }]);
    assert.equal(widget.get("value"), 42);
    assert.deepEqual(seen, [["value", 1, 42]]);
  });

  it("a handler that changes the received key and another key sends both as updates after the echo (ipywidgets test_hold_sync)", () => {
    const widget = valueWidget();
    widget.on("value", (change) => {
      if (change.new === 42) widget.set({ value: 2, other: 11 });
    });
    comms.take();
    comms.frontendSend(widget.modelId, { method: "update", state: { value: 42 }, buffer_paths: [] });
    assert.deepEqual(comms.take().map((m) => m.data), [
      { method: "echo_update", state: { value: 42 }, buffer_paths: [] },
      { method: "update", state: { value: 2, other: 11 }, buffer_paths: [] },
    ]);
    assert.equal(widget.get("value"), 2);
  });

  it("a handler that sets the key to the value the frontend sent does not send it back (property lock)", () => {
    const widget = valueWidget();
    widget.on("value", () => widget.set({ value: 42, other: 5 }));
    comms.take();
    comms.frontendSend(widget.modelId, { method: "update", state: { value: 42 }, buffer_paths: [] });
    assert.deepEqual(comms.take().map((m) => (m.data as { method: string; state: unknown }).state), [{ value: 42 }, { other: 5 }]);
  });

  it("answers request_state with an update holding the whole state", () => {
    const text = new Text({ value: "hi" });
    comms.take();
    comms.frontendSend(text.modelId, { method: "request_state" });
    const [reply] = comms.take().map((m) => m.data as { method: string; state: Record<string, unknown> });
    assert.equal(reply.method, "update");
    assert.deepEqual(reply.state, text.state);
    assert.equal(reply.state.value, "hi");
    assert.equal(reply.state._model_name, "TextModel");
  });

  it("custom messages both ways: a click reaches onClick; send() goes out as method custom with buffers", () => {
    const button = new Button({ description: "Go" });
    let clicks = 0;
    button.onClick(() => clicks++);
    comms.take();
    comms.frontendSend(button.modelId, { method: "custom", content: { event: "click" } });
    comms.frontendSend(button.modelId, { method: "custom", content: { event: "hover" } });
    assert.equal(clicks, 1);
    button.send({ hello: 1 }, [Buffer.from([1, 2])]);
    const [sent] = comms.take();
    assert.deepEqual(sent.data, { method: "custom", content: { hello: 1 } });
    assert.deepEqual(sent.buffers, [Buffer.from([1, 2])]);
  });

  it("splits binary values out by path, as the spec's example [['x'], ['y', 'z', 0]], and puts them back", () => {
    const x = new Uint8Array([1, 2, 3]);
    const z0 = new Float32Array([0.5]);
    const state = { x, y: { z: [z0, 7], w: "keep" }, n: 1 };
    const split = removeBuffers(state);
    assert.deepEqual(split.bufferPaths, [["x"], ["y", "z", 0]]);
    assert.deepEqual(split.state, { y: { z: [null, 7], w: "keep" }, n: 1 });
    assert.deepEqual(split.buffers, [Buffer.from(x), Buffer.from(z0.buffer)]);
    assert.ok(state.x === x && state.y.z[0] === z0, "the input is not modified");
    const back = split.state;
    putBuffers(back, split.bufferPaths, split.buffers);
    assert.deepEqual(back, { x: Buffer.from(x), y: { z: [Buffer.from(z0.buffer), 7], w: "keep" }, n: 1 });
  });

  it("binary state goes out as buffers on open and update, and frontend buffers land at their paths", () => {
    const widget = new Widget({ _model_name: "DataModel", data: { shape: [2], bytes: Buffer.from([9, 8]) } });
    const [open] = comms.take();
    assert.deepEqual(open.data, { state: { _model_name: "DataModel", data: { shape: [2] } }, buffer_paths: [["data", "bytes"]] });
    assert.deepEqual(open.buffers, [Buffer.from([9, 8])]);
    comms.frontendSend(widget.modelId, { method: "update", state: { data: { shape: [3] } }, buffer_paths: [["data", "bytes"]] }, [Buffer.from([1, 2, 3])]);
    assert.deepEqual(widget.get("data"), { shape: [3], bytes: Buffer.from([1, 2, 3]) });
    const [echo] = comms.take();
    assert.deepEqual(echo.data, { method: "echo_update", state: { data: { shape: [3] } }, buffer_paths: [["data", "bytes"]] });
    assert.deepEqual(echo.buffers, [Buffer.from([1, 2, 3])]);
  });

  it("jupyter.widget.control: request_states is answered by update_states with every model", () => {
    const layout = new Layout({ width: "10em" });
    const button = new Button({ description: "A", layout });
    const box = hbox([button]);
    comms.take();
    const control = comms.frontendOpen("jupyter.widget.control", {});
    comms.frontendSend(control, { method: "request_states" });
    const [reply] = comms.take(control);
    const data = reply.data as { method: string; states: Record<string, { model_name: string; model_module: string; model_module_version: string; state: Record<string, unknown> }>; buffer_paths: unknown[] };
    assert.equal(data.method, "update_states");
    assert.deepEqual(data.buffer_paths, []);
    assert.deepEqual(data.states[box.modelId].state.children, [`IPY_MODEL_${button.modelId}`]);
    assert.equal(data.states[button.modelId].state.layout, `IPY_MODEL_${layout.modelId}`);
    assert.deepEqual(
      { name: data.states[layout.modelId].model_name, module: data.states[layout.modelId].model_module, version: data.states[layout.modelId].model_module_version },
      { name: "LayoutModel", module: "@jupyter-widgets/base", version: "2.0.0" },
    );
    assert.equal(data.states[layout.modelId].state.width, "10em");
  });

  it("a model the frontend opens on jupyter.widget (targets exist once a first widget is made) is mirrored in the kernel and syncs", () => {
    valueWidget();
    const id = comms.frontendOpen("jupyter.widget", { state: { _model_name: "IntModel", value: 3 }, buffer_paths: [] });
    comms.frontendSend(id, { method: "request_state" });
    assert.deepEqual(comms.take(id).map((m) => m.data), [{ method: "update", state: { _model_name: "IntModel", value: 3 }, buffer_paths: [] }]);
  });

  it("Dropdown syncs index over its labels; a value outside the options is an error", () => {
    const dropdown = new Dropdown({ options: ["mean", "zeros"], value: "zeros" });
    assert.equal(dropdown.get("index"), 1);
    comms.frontendSend(dropdown.modelId, { method: "update", state: { index: 0 }, buffer_paths: [] });
    assert.equal(dropdown.value, "mean");
    assert.throws(() => new Dropdown({ options: ["a"], value: "b" }), WidgetError);
  });

  it("close() sends comm_close; a closed widget displays as text only", () => {
    const button = new Button({ description: "x" });
    comms.take();
    button.close();
    assert.deepEqual(comms.take().map((m) => m.msgType), ["comm_close"]);
    assert.equal(button[JUPYTER_DISPLAY]()[WIDGET_VIEW_MIME], undefined);
  });

  it("an unknown key in set() is an error naming the known keys; a handler's error does not stop the others", () => {
    const widget = valueWidget();
    assert.throws(() => widget.set({ nope: 1 } as never), /no state key "nope"/);
    const seen: number[] = [];
    const original = console.error;
    console.error = () => undefined;
    try {
      widget.on("value", () => {
        throw new Error("boom");
      });
      widget.on("value", (change) => seen.push(change.new as number));
      comms.frontendSend(widget.modelId, { method: "update", state: { value: 5 } });
    } finally {
      console.error = original;
    }
    assert.deepEqual(seen, [5]);
  });
});

describe("widgets without a notebook host", () => {
  it("work locally (set, on) and display as text only", () => {
    const text = new Text({ value: "a" });
    const seen: unknown[] = [];
    text.on("value", (change) => seen.push(change.new));
    text.set({ value: "b" });
    assert.deepEqual(seen, ["b"]);
    assert.equal(text.connected, false);
    assert.deepEqual(Object.keys(text[JUPYTER_DISPLAY]()), ["text/plain"]);
  });
});
