import { randomUUID } from "node:crypto";
import { notebookHost } from "../runtime/notebook-host";
import { DisplayError } from "./display-error";
import { hasLiveFrame, LIVE_FRAME } from "./live-frame";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "./mime-bundle";

export interface LiveDisplayOptions {
  /** redraw no more often than this (default 500 ms) */
  minIntervalMs?: number;
  /** redraw no more often than every this many updates (default 1) */
  everyUpdates?: number;
  /** without a notebook host, print each frame's text/plain to the console (default: stay quiet) */
  console?: boolean;
  /** milliseconds clock; tests pass a fake one */
  now?: () => number;
}

/**
 * One output that redraws in place: the first frame is a `display_data` with this object's display id,
 * later frames are `update_display_data` for the same id, throttled by time and update count. Frames
 * between the first and the final one use the value's LIVE_FRAME bundle when it has one (a Figure
 * then skips re-sending plotly.js). Call `close()` when done — in a `finally` — so the saved output
 * is the full, standalone final frame.
 *
 * Without a notebook host (plain Node) it draws nothing, or prints text/plain with `console: true`.
 */
export class LiveDisplay {
  readonly id = `tokenlab-live-${randomUUID()}`;
  private readonly minIntervalMs: number;
  private readonly everyUpdates: number;
  private readonly printWithoutHost: boolean;
  private readonly now: () => number;
  private latest: Displayable | undefined;
  private latestDrawn = true;
  private lastFrameWasFull = false;
  private shown = false;
  private closed = false;
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private updatesSinceDraw = 0;

  constructor(options: LiveDisplayOptions = {}) {
    this.minIntervalMs = options.minIntervalMs ?? 500;
    this.everyUpdates = Math.max(1, options.everyUpdates ?? 1);
    this.printWithoutHost = options.console ?? false;
    this.now = options.now ?? (() => performance.now());
  }

  /** Records the newest value and redraws if the throttle allows; returns whether it drew. */
  update(value: Displayable): boolean {
    if (this.closed) throw new DisplayError("This LiveDisplay is closed; create a new one", { id: this.id });
    this.latest = value;
    this.latestDrawn = false;
    this.updatesSinceDraw += 1;
    const due = this.updatesSinceDraw >= this.everyUpdates && this.now() - this.lastDrawAt >= this.minIntervalMs;
    if (this.shown && !due) return false;
    this.draw(!this.shown);
    return true;
  }

  /** Draws the newest value now if the throttle held it back. */
  flush(): void {
    if (this.latest && !this.latestDrawn) this.draw(!this.shown);
  }

  /** Draws the newest value as a full, standalone frame and ends this display. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.latest && !(this.latestDrawn && this.lastFrameWasFull)) this.draw(true);
  }

  private draw(full: boolean): void {
    const value = this.latest as Displayable;
    const bundle: MimeBundle = !full && hasLiveFrame(value) ? value[LIVE_FRAME]() : value[JUPYTER_DISPLAY]();
    const host = notebookHost();
    if (host) {
      host.display({ [JUPYTER_DISPLAY]: () => bundle }, { id: this.id, update: this.shown });
    } else if (this.printWithoutHost && typeof bundle["text/plain"] === "string") {
      console.log(bundle["text/plain"]);
    }
    this.shown = true;
    this.latestDrawn = true;
    this.lastFrameWasFull = full || !hasLiveFrame(value);
    this.lastDrawAt = this.now();
    this.updatesSinceDraw = 0;
  }
}
