import { escapeHtml } from "../display/html-escape";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display/mime-bundle";
import { HTML, vbox, type Box } from "./controls";
import { WIDGET_VIEW_MIME, type Widget } from "./widget";

/**
 * Input widgets above an output area the kernel redraws with `render()` whenever `refresh()` is called
 * (from the inputs' handlers). Where widgets are unavailable it displays as the current output alone
 * (its HTML and text), so the same call gives a plain display in nbconvert, a console or Deno.
 * A render that throws shows its error message in the output area instead of failing the comm.
 */
export class Interactive implements Displayable {
  readonly output = new HTML({ value: "" });
  readonly view: Box;
  private current: MimeBundle = {};

  constructor(inputs: readonly Widget[], private readonly render: () => Displayable) {
    this.view = vbox([...inputs, this.output]);
    this.refresh();
  }

  /** Renders again and shows the result in the output area. */
  refresh(): void {
    try {
      this.current = this.render()[JUPYTER_DISPLAY]();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.current = { "text/html": `<div class="tokenlab-error" style="color:#b00020">${escapeHtml(message)}</div>`, "text/plain": message };
    }
    this.output.set({ value: String(this.current["text/html"] ?? `<pre>${escapeHtml(String(this.current["text/plain"] ?? ""))}</pre>`) });
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const view = this.view[JUPYTER_DISPLAY]()[WIDGET_VIEW_MIME];
    return view === undefined ? { ...this.current } : { ...this.current, [WIDGET_VIEW_MIME]: view };
  }
}
