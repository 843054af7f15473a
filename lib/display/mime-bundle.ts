/**
 * The one display protocol of the project (Deno's convention): any object with a method under
 * `Symbol.for("Jupyter.display")` returning a mime bundle renders itself in the tokenlab kernel and
 * in Deno's kernel. lib/ objects implement it; they never import kernel/.
 */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A plain object keyed by mime type, e.g. `{"text/plain": "...", "text/html": "..."}`. */
export type MimeBundle = Record<string, unknown>;

export interface Displayable {
  [JUPYTER_DISPLAY](): MimeBundle;
}

export function isDisplayable(value: unknown): value is Displayable {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as Partial<Displayable>)[JUPYTER_DISPLAY] === "function"
  );
}
