import { escapeHtml } from "../display/html-escape";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { BASE_VERSION, CONTROLS_VERSION, Widget, widgetRef, type WidgetState } from "./widget";
import { WidgetError } from "./widget-error";

/**
 * The @jupyter-widgets/controls 2.0 models tokenlab uses, with ipywidgets' state names kept verbatim
 * (snake_case, as in Python) so a researcher can read the ipywidgets docs. Keys left out of a state
 * take the frontend model's defaults, as the protocol allows; the kernel knows the keys it sends.
 */

const base = (model: string, view: string | null) => ({
  _model_module: "@jupyter-widgets/base", _model_module_version: BASE_VERSION, _model_name: model,
  _view_module: "@jupyter-widgets/base", _view_module_version: BASE_VERSION, _view_name: view,
});
const controls = (model: string, view: string) => ({
  _model_module: "@jupyter-widgets/controls", _model_module_version: CONTROLS_VERSION, _model_name: model,
  _view_module: "@jupyter-widgets/controls", _view_module_version: CONTROLS_VERSION, _view_name: view,
});

/** CSS of a widget's box (LayoutModel); unset properties are null. */
export interface LayoutProperties {
  width?: string | null;
  height?: string | null;
  min_width?: string | null;
  max_width?: string | null;
  margin?: string | null;
  padding?: string | null;
  border?: string | null;
  display?: string | null;
  flex?: string | null;
  flex_flow?: string | null;
  align_items?: string | null;
  justify_content?: string | null;
  overflow?: string | null;
  visibility?: string | null;
}

const LAYOUT_KEYS: Array<keyof LayoutProperties> = [
  "width", "height", "min_width", "max_width", "margin", "padding", "border", "display", "flex", "flex_flow", "align_items", "justify_content", "overflow", "visibility",
];

export class Layout extends Widget<WidgetState & LayoutProperties> {
  constructor(properties: LayoutProperties = {}) {
    super({ ...base("LayoutModel", "LayoutView"), ...Object.fromEntries(LAYOUT_KEYS.map((key) => [key, properties[key] ?? null])) });
  }
}

/** Style of a control: ButtonStyleModel, DescriptionStyleModel, TextStyleModel or HTMLStyleModel. */
export class Style extends Widget {
  constructor(model: "ButtonStyleModel" | "DescriptionStyleModel" | "TextStyleModel" | "HTMLStyleModel", properties: Record<string, string | boolean | null> = {}) {
    super({ ...controls(model, "StyleView"), _view_module: "@jupyter-widgets/base", _view_module_version: BASE_VERSION, ...properties });
  }
}

/** Options every DOM widget takes: its layout, CSS classes and a tooltip. */
export interface DomOptions {
  layout?: Layout | LayoutProperties;
  tooltip?: string | null;
  _dom_classes?: string[];
}

/** The DOM widget keys (layout and style as model references; created only when given). */
function dom(options: DomOptions, style?: Style): WidgetState {
  const layout = options.layout === undefined ? undefined : options.layout instanceof Layout ? options.layout : new Layout(options.layout);
  return {
    _dom_classes: options._dom_classes ?? [],
    tooltip: options.tooltip ?? null,
    tabbable: null,
    ...(layout ? { layout: widgetRef(layout) } : {}),
    ...(style ? { style: widgetRef(style) } : {}),
  };
}

export type ButtonStyleName = "primary" | "success" | "info" | "warning" | "danger" | "";

export interface ButtonState extends WidgetState {
  description: string;
  disabled: boolean;
  icon: string;
  button_style: ButtonStyleName;
}

export class Button extends Widget<ButtonState> {
  constructor(options: Partial<Pick<ButtonState, "description" | "disabled" | "icon" | "button_style">> & DomOptions & { style?: Style } = {}) {
    super({
      ...controls("ButtonModel", "ButtonView"),
      ...dom(options, options.style),
      description: options.description ?? "",
      disabled: options.disabled ?? false,
      icon: options.icon ?? "",
      button_style: options.button_style ?? "",
    });
  }

  /** Runs `handler` in the kernel on each click (the frontend sends custom `{event: "click"}`). */
  onClick(handler: (button: Button) => void): this {
    return this.onCustom((content) => {
      if ((content as { event?: unknown } | null)?.event === "click") handler(this);
    });
  }
}

interface DescribedOptions extends DomOptions {
  description?: string;
  disabled?: boolean;
}

function described(options: DescribedOptions): { description: string; description_allow_html: boolean; disabled: boolean } {
  return { description: options.description ?? "", description_allow_html: false, disabled: options.disabled ?? false };
}

export interface TextState extends WidgetState {
  value: string;
  placeholder: string;
  description: string;
  disabled: boolean;
  continuous_update: boolean;
}

/** One line of text (TextModel) or several (TextareaModel); `continuous_update` sends each keystroke. */
export class Text extends Widget<TextState> {
  constructor(options: DescribedOptions & { value?: string; placeholder?: string; continuous_update?: boolean; multiline?: boolean } = {}) {
    super({
      ...(options.multiline ? controls("TextareaModel", "TextareaView") : controls("TextModel", "TextView")),
      ...dom(options, new Style("TextStyleModel")),
      ...described(options),
      value: options.value ?? "",
      placeholder: options.placeholder ?? "",
      continuous_update: options.continuous_update ?? true,
    });
  }
}

export interface FloatTextState extends WidgetState {
  value: number;
  step: number | null;
  description: string;
  disabled: boolean;
  continuous_update: boolean;
}

export class FloatText extends Widget<FloatTextState> {
  constructor(options: DescribedOptions & { value?: number; step?: number | null } = {}) {
    super({
      ...controls("FloatTextModel", "FloatTextView"),
      ...dom(options, new Style("DescriptionStyleModel")),
      ...described(options),
      value: options.value ?? 0,
      step: options.step ?? null,
      continuous_update: false,
    });
  }
}

export interface DropdownState extends WidgetState {
  _options_labels: string[];
  index: number | null;
  description: string;
  disabled: boolean;
}

/** A choice among labels; the frontend syncs `index` (ipywidgets 8 keeps only labels in the state). */
export class Dropdown extends Widget<DropdownState> {
  constructor(options: DescribedOptions & { options: readonly string[]; value?: string }) {
    const labels = [...options.options];
    const index = options.value === undefined ? (labels.length > 0 ? 0 : null) : labels.indexOf(options.value);
    if (index === -1) throw new WidgetError("the Dropdown value is not one of its options", { value: options.value, options: labels });
    super({ ...controls("DropdownModel", "DropdownView"), ...dom(options, new Style("DescriptionStyleModel")), ...described(options), _options_labels: labels, index });
  }

  /** The selected label, or undefined when nothing is selected. */
  get value(): string | undefined {
    const index = this.get("index");
    return index === null ? undefined : this.get("_options_labels")[index];
  }
}

export interface HtmlState extends WidgetState {
  value: string;
  description: string;
}

/** HTML the kernel writes (HTMLModel); the plain display shows the same HTML. */
export class HTML extends Widget<HtmlState> {
  constructor(options: DomOptions & { value?: string; description?: string } = {}) {
    super({ ...controls("HTMLModel", "HTMLView"), ...dom(options, new Style("HTMLStyleModel")), ...described(options), value: options.value ?? "", placeholder: "" });
  }

  protected override fallback(): MimeBundle {
    return { "text/html": this.get("value") };
  }
}

export interface BoxState extends WidgetState {
  children: string[];
  box_style: "success" | "info" | "warning" | "danger" | "";
}

/** A row (HBox) or column (VBox) of widgets. */
export class Box extends Widget<BoxState> {
  private kids: Widget[];

  constructor(direction: "row" | "column", children: readonly Widget[], options: DomOptions & { box_style?: BoxState["box_style"] } = {}) {
    super({
      ...(direction === "row" ? controls("HBoxModel", "HBoxView") : controls("VBoxModel", "VBoxView")),
      ...dom(options),
      children: children.map(widgetRef),
      box_style: options.box_style ?? "",
    });
    this.kids = [...children];
  }

  get children(): readonly Widget[] {
    return this.kids;
  }

  setChildren(children: readonly Widget[]): void {
    this.kids = [...children];
    this.set({ children: children.map(widgetRef) });
  }

  /** Without widgets: the children's HTML (or text) one after another. */
  protected override fallback(): MimeBundle {
    const parts = this.kids.map((kid) => {
      const own = kid[JUPYTER_DISPLAY]();
      return typeof own["text/html"] === "string" ? own["text/html"] : `<pre>${escapeHtml(String(own["text/plain"]))}</pre>`;
    });
    return { "text/html": `<div style="display:flex;flex-direction:${this.get("_model_name") === "HBoxModel" ? "row" : "column"};gap:6px">${parts.join("")}</div>` };
  }
}

export const hbox = (children: readonly Widget[], options?: DomOptions) => new Box("row", children, options);
export const vbox = (children: readonly Widget[], options?: DomOptions) => new Box("column", children, options);
