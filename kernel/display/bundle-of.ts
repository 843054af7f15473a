import { inspect } from "node:util";
import { isDisplayable, JUPYTER_DISPLAY, type MimeBundle } from "../../lib/display/mime-bundle";

const MIME_TYPE = /^[a-z]+\/[\w.+-]+$/;

/** A plain object whose keys are all mime types, e.g. {"text/html": "<b>hi</b>"}, is shown as is. */
export function isRawBundle(value: unknown): value is MimeBundle {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => MIME_TYPE.test(key));
}

export function plainText(value: unknown): string {
  return typeof value === "string" ? inspect(value) : inspect(value, { depth: 4, colors: false, maxArrayLength: 50 });
}

/**
 * The mime bundle for a value: its own Symbol.for("Jupyter.display") bundle when it has one,
 * otherwise util.inspect text. Every bundle carries text/plain so every frontend can show it.
 */
export function bundleOf(value: unknown): MimeBundle {
  if (isDisplayable(value)) {
    const own = value[JUPYTER_DISPLAY]();
    return { "text/plain": plainText(value), ...own };
  }
  if (isRawBundle(value)) return { "text/plain": "", ...value };
  return { "text/plain": plainText(value) };
}
