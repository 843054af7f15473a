import type { TokenlabError } from "./tokenlab-error";

type ErrorClass = new (message: string, context?: Record<string, unknown>) => TokenlabError;

/** Bounds of a numeric option; `above`/`below` are exclusive, `min`/`max` inclusive. */
export interface NumberRange {
  integer?: boolean;
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/**
 * Checks of user-supplied options, so a typo or a wrong type is an error naming the option and what
 * it accepts, never a silent fallback. Every check ignores `undefined` (an option not given); the
 * caller applies its default. `where` starts each message, e.g. "addTokens option" or
 * `token spec #2 ("<x>")`.
 */
export interface OptionChecks {
  /** Every own key of `object` is in `allowed`; `name` names a nested object (e.g. "init"). */
  knownKeys(object: object, allowed: readonly string[], name?: string): void;
  oneOf(name: string, value: unknown, allowed: readonly unknown[]): void;
  /** A finite number within `range`. */
  number(name: string, value: unknown, range?: NumberRange): void;
  boolean(name: string, value: unknown): void;
  /** Throws this checker's error class with the `where` prefix (for checks of their own). */
  fail(name: string, message: string, value: unknown): never;
}

export function optionChecks(ErrorType: ErrorClass, where: string): OptionChecks {
  const fail = (name: string, message: string, value: unknown): never => {
    throw new ErrorType(`${where} ${name} ${message}, got ${show(value)}`, { option: name, value });
  };
  return {
    fail,
    knownKeys(object, allowed, name) {
      if (typeof object !== "object" || object === null || Array.isArray(object)) {
        throw new ErrorType(`${where}s${name === undefined ? "" : ` of ${name}`} must be an object {${allowed.join(", ")}}, got ${show(object)}`, { value: object });
      }
      for (const key of Object.keys(object)) {
        if (!allowed.includes(key)) {
          const within = name === undefined ? "" : ` in ${name}`;
          throw new ErrorType(`unknown ${where} ${JSON.stringify(key)}${within}; the options are ${allowed.join(", ")}`, { option: key, allowed });
        }
      }
    },
    oneOf(name, value, allowed) {
      if (value !== undefined && !allowed.includes(value)) fail(name, `must be one of ${allowed.map(show).join(", ")}`, value);
    },
    number(name, value, range = {}) {
      if (value === undefined) return;
      const ok =
        typeof value === "number" &&
        Number.isFinite(value) &&
        (!range.integer || Number.isInteger(value)) &&
        (range.min === undefined || value >= range.min) &&
        (range.max === undefined || value <= range.max) &&
        (range.above === undefined || value > range.above) &&
        (range.below === undefined || value < range.below);
      if (!ok) fail(name, `must be ${describeRange(range)}`, value);
    },
    boolean(name, value) {
      if (value !== undefined && typeof value !== "boolean") fail(name, "must be true or false", value);
    },
  };
}

function describeRange(range: NumberRange): string {
  const bounds = [
    range.min !== undefined ? `≥ ${range.min}` : "",
    range.above !== undefined ? `> ${range.above}` : "",
    range.max !== undefined ? `≤ ${range.max}` : "",
    range.below !== undefined ? `< ${range.below}` : "",
  ].filter(Boolean);
  return `a finite ${range.integer ? "integer" : "number"}${bounds.length > 0 ? " " + bounds.join(" and ") : ""}`;
}

function show(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (typeof value === "number" || value === undefined) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
