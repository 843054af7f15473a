import { randomUUID } from "node:crypto";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display/mime-bundle";
import { notebookHost, type Comm, type NotebookComms } from "../runtime/notebook-host";
import { putBuffers, removeBuffers, sameValue, type BufferPath } from "./buffers";
import { WidgetError } from "./widget-error";

/** The widget messaging protocol ipywidgets 8 speaks (comm_open metadata `version`). */
export const PROTOCOL_VERSION = "2.1.0";
/** `_model_module_version` of @jupyter-widgets/base 6.x and @jupyter-widgets/controls 5.x (ipywidgets 8). */
export const BASE_VERSION = "2.0.0";
export const CONTROLS_VERSION = "2.0.0";
export const WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json";
const WIDGET_TARGET = "jupyter.widget";
const CONTROL_TARGET = "jupyter.widget.control";

export type WidgetState = Record<string, unknown>;

/** One state change, as ipywidgets' `observe` reports it. */
export interface Change<T = unknown> {
  name: string;
  old: T;
  new: T;
}

type ChangeHandler = (change: Change) => void;
type CustomHandler = (content: unknown, buffers: Buffer[]) => void;

/** The reference to another widget inside a state, e.g. a box's children or a widget's layout. */
export function widgetRef(widget: Widget): string {
  return `IPY_MODEL_${widget.modelId}`;
}

/**
 * A widget model: state kept in the kernel and mirrored by the frontend's @jupyter-widgets model over
 * one comm (target `jupyter.widget`). `set()` sends an `update` with the changed keys; an `update`
 * from the frontend is echoed back (`echo_update`), applied, and reported to `on()` handlers, which
 * run in the kernel. Handlers that set a key back to the value the frontend just sent do not re-send
 * it (ipywidgets' property lock). `request_state` is answered with the whole state; custom messages
 * go both ways. Without a notebook host with comms (plain Node) the model works locally and displays
 * as text.
 */
export class Widget<S extends WidgetState = WidgetState> implements Displayable {
  readonly modelId: string;
  private readonly values: S;
  private comm: Comm | undefined;
  private readonly changeHandlers = new Map<string, ChangeHandler[]>();
  private readonly customHandlers: CustomHandler[] = [];
  /** Values just received from the frontend, while their change handlers run. */
  private lock: WidgetState | undefined;

  /** `state` must hold every synced key with its initial value (the _model_* and _view_* keys too). */
  constructor(state: S, comm?: Comm) {
    this.values = { ...state };
    const registry = WidgetRegistry.current();
    this.comm = comm ?? registry?.open(this);
    this.modelId = this.comm?.commId ?? randomUUID();
    if (this.comm) registry?.attach(this, this.comm);
  }

  /** Whether a frontend model mirrors this one (false without comms, or once closed). */
  get connected(): boolean {
    return this.comm !== undefined;
  }

  get state(): Readonly<S> {
    return this.values;
  }

  get<K extends keyof S>(key: K): S[K] {
    return this.values[key];
  }

  /** Changes state keys: the changed ones go to the frontend in one `update`, then handlers run. */
  set(patch: Partial<S>): this {
    const changes = this.apply(patch as WidgetState, "set");
    const toSend = changes.filter((change) => !(this.lock && change.name in this.lock && sameValue(this.lock[change.name], change.new)));
    if (toSend.length > 0) this.sendState("update", Object.fromEntries(toSend.map((change) => [change.name, change.new])));
    this.notify(changes);
    return this;
  }

  /** Runs `handler` in the kernel whenever key `name` changes (`"*"`: any key), from either side. */
  on(name: (keyof S & string) | "*", handler: (change: Change) => void): this {
    const list = this.changeHandlers.get(name) ?? [];
    list.push(handler);
    this.changeHandlers.set(name, list);
    return this;
  }

  /** Runs `handler` for each custom message from the frontend (e.g. a button's `{event: "click"}`). */
  onCustom(handler: CustomHandler): this {
    this.customHandlers.push(handler);
    return this;
  }

  /** Sends a custom message to the frontend model. */
  send(content: unknown, buffers: Buffer[] = []): void {
    this.comm?.send({ method: "custom", content }, {}, buffers);
  }

  /** Closes the comm: the frontend removes the views. The kernel-side state stays readable. */
  close(): void {
    const comm = this.comm;
    this.comm = undefined;
    WidgetRegistry.current()?.detach(this.modelId);
    comm?.close();
  }

  /** The widget view for frontends with a widget manager, text for the others (and `fallback` for HTML-only ones). */
  [JUPYTER_DISPLAY](): MimeBundle {
    const bundle: MimeBundle = { "text/plain": this.toString(), ...this.fallback() };
    if (this.comm) bundle[WIDGET_VIEW_MIME] = { version_major: 2, version_minor: 0, model_id: this.modelId };
    return bundle;
  }

  /** Extra mime types shown where widgets are unavailable (e.g. text/html); none by default. */
  protected fallback(): MimeBundle {
    return {};
  }

  /** e.g. `Button(description="Stop", disabled=false)`: the public keys that are set. */
  toString(): string {
    const name = String(this.values._model_name ?? "Widget").replace(/Model$/, "");
    const shown = Object.entries(this.values).filter(([key, value]) => !key.startsWith("_") && value !== null && value !== "" && !(Array.isArray(value) && value.length === 0));
    const text = `${name}(${shown.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(", ")})`;
    return text.length > 110 ? `${text.slice(0, 110)}…` : text;
  }

  /** A message from the frontend model on this widget's comm. */
  receive(data: unknown, buffers: Buffer[]): void {
    const message = (typeof data === "object" && data !== null ? data : {}) as { method?: unknown; state?: unknown; buffer_paths?: unknown; content?: unknown };
    switch (message.method) {
      case "update": {
        const state = { ...((message.state ?? {}) as WidgetState) };
        putBuffers(state, (message.buffer_paths ?? []) as BufferPath[], buffers);
        this.receiveState(state);
        return;
      }
      case "request_state":
        this.sendState("update", this.values);
        return;
      case "custom":
        for (const handler of this.customHandlers) guarded(() => handler(message.content, buffers));
        return;
      default:
        throw new WidgetError("unknown widget message method", { method: message.method, modelId: this.modelId });
    }
  }

  /** Called by the registry when the frontend closed the comm. */
  closedByFrontend(): void {
    this.comm = undefined;
  }

  /** As ipywidgets 8: echo the known keys first, then apply them under the property lock. */
  private receiveState(state: WidgetState): void {
    const known = Object.fromEntries(Object.entries(state).filter(([key]) => key in this.values));
    if (Object.keys(known).length === 0) return;
    this.sendState("echo_update", known);
    this.lock = known;
    try {
      this.notify(this.apply(known, "frontend"));
    } finally {
      this.lock = undefined;
    }
  }

  private apply(patch: WidgetState, source: "set" | "frontend"): Change[] {
    const changes: Change[] = [];
    for (const [name, value] of Object.entries(patch)) {
      if (!(name in this.values)) {
        throw new WidgetError(`this widget has no state key "${name}"`, { known: Object.keys(this.values).filter((key) => !key.startsWith("_")), source });
      }
      const old = this.values[name];
      if (sameValue(old, value)) continue;
      (this.values as WidgetState)[name] = value;
      changes.push({ name, old, new: value });
    }
    return changes;
  }

  private notify(changes: Change[]): void {
    for (const change of changes) {
      for (const handler of [...(this.changeHandlers.get(change.name) ?? []), ...(this.changeHandlers.get("*") ?? [])]) guarded(() => handler(change));
    }
  }

  private sendState(method: "update" | "echo_update", state: WidgetState): void {
    if (!this.comm) return;
    const split = removeBuffers({ ...state }); // a copy: the message must not change with later set() calls
    this.comm.send({ method, state: split.state, buffer_paths: split.bufferPaths }, {}, split.buffers);
  }

  /** The comm_open data: the whole state with its buffers split out. */
  openData(): { data: unknown; buffers: Buffer[] } {
    const split = removeBuffers({ ...this.values });
    return { data: { state: split.state, buffer_paths: split.bufferPaths }, buffers: split.buffers };
  }
}

/**
 * A handler's error is reported and does not stop the other handlers or the widget, as ipywidgets
 * logs a callback's traceback instead of failing the comm message.
 */
function guarded(work: () => void): void {
  try {
    work();
  } catch (error) {
    console.error(`widget callback failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

/**
 * The widgets of one notebook host: opens their comms, registers the `jupyter.widget` target (models
 * the frontend creates) and `jupyter.widget.control` (all states in one `update_states` reply).
 * One per host's comms, created on first use.
 */
export class WidgetRegistry {
  private static readonly byComms = new WeakMap<NotebookComms, WidgetRegistry>();
  private readonly widgets = new Map<string, Widget>();

  private constructor(private readonly comms: NotebookComms) {
    comms.registerTarget(WIDGET_TARGET, (comm, data, buffers) => {
      const { state, buffer_paths } = (data ?? {}) as { state?: WidgetState; buffer_paths?: BufferPath[] };
      if (typeof state !== "object" || state === null) throw new WidgetError("comm_open for jupyter.widget without a state", { commId: comm.commId });
      const copy = { ...state };
      putBuffers(copy, buffer_paths ?? [], buffers);
      new Widget(copy, comm);
    });
    comms.registerTarget(CONTROL_TARGET, (comm) => comm.onMessage((message) => this.control(comm, message)));
  }

  /** The registry of the running kernel's host, or undefined where there are no comms. */
  static current(): WidgetRegistry | undefined {
    const comms = notebookHost()?.comms;
    if (!comms) return undefined;
    let registry = WidgetRegistry.byComms.get(comms);
    if (!registry) {
      registry = new WidgetRegistry(comms);
      WidgetRegistry.byComms.set(comms, registry);
    }
    return registry;
  }

  open(widget: Widget): Comm {
    const { data, buffers } = widget.openData();
    return this.comms.open(WIDGET_TARGET, data, { version: PROTOCOL_VERSION }, buffers);
  }

  attach(widget: Widget, comm: Comm): void {
    this.widgets.set(widget.modelId, widget);
    comm.onMessage((data, buffers) => widget.receive(data, buffers));
    comm.onClose(() => {
      this.widgets.delete(widget.modelId);
      widget.closedByFrontend();
    });
  }

  detach(modelId: string): void {
    this.widgets.delete(modelId);
  }

  private control(comm: Comm, message: unknown): void {
    const method = (message as { method?: unknown } | null)?.method;
    if (method !== "request_states") throw new WidgetError("unknown widget control message method", { method });
    const states: WidgetState = {};
    for (const [id, widget] of this.widgets) {
      const { _model_name, _model_module, _model_module_version } = widget.state;
      states[id] = { model_name: _model_name, model_module: _model_module, model_module_version: _model_module_version, state: { ...widget.state } };
    }
    const split = removeBuffers(states);
    comm.send({ method: "update_states", states: split.state, buffer_paths: split.bufferPaths }, {}, split.buffers);
  }
}
