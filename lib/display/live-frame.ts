import type { MimeBundle } from "./mime-bundle";

/**
 * Optional second method of a displayable: a lighter bundle for the intermediate redraws of a live
 * display (a Figure leaves out the embedded plotly.js, which the first frame already loaded).
 * LiveDisplay uses it between its first and its final frame; everything else uses JUPYTER_DISPLAY.
 */
export const LIVE_FRAME: unique symbol = Symbol.for("tokenlab.liveFrame") as never;

export interface LiveFrameSource {
  [LIVE_FRAME](): MimeBundle;
}

export function hasLiveFrame(value: unknown): value is LiveFrameSource {
  return typeof value === "object" && value !== null && typeof (value as Partial<LiveFrameSource>)[LIVE_FRAME] === "function";
}
