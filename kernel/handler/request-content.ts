import { describeValue, isJsonObject } from "../protocol/wire";
import type { HistoryQuery } from "./session-history";
import { InvalidRequestError } from "./invalid-request-error";

/**
 * The content of every request kind the kernel acts on, checked in one place before any handler
 * runs. A buggy or hostile client gets an error reply that names the field, instead of a TypeError
 * deep in a handler that left the request unanswered. Optional fields may be absent or null (as
 * jupyter_client sends them); names stay the protocol's.
 */
const PARSERS = {
  execute_request: (fields: Fields) => ({
    code: fields.required("code", "string"),
    silent: fields.optional("silent", "boolean"),
    store_history: fields.optional("store_history", "boolean"),
    allow_stdin: fields.optional("allow_stdin", "boolean"),
    stop_on_error: fields.optional("stop_on_error", "boolean"),
    user_expressions: fields.optional("user_expressions", "object"),
  }),
  // cursor_pos counts unicode code points; jupyter_client sends null for "at the end".
  complete_request: (fields: Fields) => ({ code: fields.required("code", "string"), cursor_pos: fields.optional("cursor_pos", "index") }),
  inspect_request: (fields: Fields) => ({
    code: fields.required("code", "string"),
    cursor_pos: fields.optional("cursor_pos", "index"),
    detail_level: fields.optional("detail_level", "index"),
  }),
  is_complete_request: (fields: Fields) => ({ code: fields.required("code", "string") }),
  history_request: (fields: Fields): HistoryQuery => ({
    hist_access_type: fields.oneOf("hist_access_type", ["tail", "range", "search"] as const),
    output: fields.optional("output", "boolean"),
    n: fields.optional("n", "integer"),
    session: fields.optional("session", "integer"),
    start: fields.optional("start", "integer"),
    stop: fields.optional("stop", "integer"),
    pattern: fields.optional("pattern", "string"),
    unique: fields.optional("unique", "boolean"),
  }),
  comm_info_request: (fields: Fields) => ({ target_name: fields.optional("target_name", "string") }),
  comm_open: (fields: Fields) => ({
    comm_id: fields.required("comm_id", "string"),
    target_name: fields.required("target_name", "string"),
    data: fields.optional("data", "object"),
  }),
  comm_msg: (fields: Fields) => ({ comm_id: fields.required("comm_id", "string"), data: fields.optional("data", "object") }),
  comm_close: (fields: Fields) => ({ comm_id: fields.required("comm_id", "string"), data: fields.optional("data", "object") }),
  kernel_info_request: () => ({}),
  shutdown_request: (fields: Fields) => ({ restart: fields.optional("restart", "boolean") }),
  input_reply: (fields: Fields) => ({ value: fields.required("value", "string") }),
};

export type RequestType = keyof typeof PARSERS;
export type RequestContent<T extends RequestType> = ReturnType<(typeof PARSERS)[T]>;
export type ExecuteRequest = RequestContent<"execute_request">;

/** The checked content of a `msgType` message; throws InvalidRequestError naming the first bad field. */
export function requestContent<T extends RequestType>(msgType: T, content: unknown): RequestContent<T> {
  if (!isJsonObject(content)) {
    throw new InvalidRequestError(`${msgType}: the content is not an object (got ${describeValue(content)})`, { msgType });
  }
  return PARSERS[msgType](new Fields(msgType, content)) as RequestContent<T>;
}

interface KindTypes {
  string: string;
  boolean: boolean;
  integer: number;
  /** A non-negative integer (a cursor position, a level). */
  index: number;
  object: Record<string, unknown>;
}

const IS_KIND: { [K in keyof KindTypes]: (value: unknown) => boolean } = {
  string: (value) => typeof value === "string",
  boolean: (value) => typeof value === "boolean",
  integer: (value) => Number.isSafeInteger(value),
  index: (value) => Number.isSafeInteger(value) && (value as number) >= 0,
  object: isJsonObject,
};

const KIND_NAMES: Record<keyof KindTypes, string> = {
  string: "a string", boolean: "a boolean", integer: "an integer", index: "a non-negative integer", object: "an object",
};

class Fields {
  constructor(
    private readonly msgType: string,
    private readonly content: Record<string, unknown>,
  ) {}

  required<K extends keyof KindTypes>(name: string, kind: K): KindTypes[K] {
    const value = this.content[name];
    if (!IS_KIND[kind](value)) this.fail(name, KIND_NAMES[kind], value);
    return value as KindTypes[K];
  }

  optional<K extends keyof KindTypes>(name: string, kind: K): KindTypes[K] | undefined {
    return this.content[name] === undefined || this.content[name] === null ? undefined : this.required(name, kind);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.content[name];
    if (value === undefined || value === null) return undefined;
    if (!allowed.includes(value as T)) this.fail(name, `one of ${allowed.map((option) => `"${option}"`).join(", ")}`, value);
    return value as T;
  }

  private fail(name: string, expected: string, value: unknown): never {
    throw new InvalidRequestError(`${this.msgType}: content.${name} must be ${expected} (got ${describeValue(value)})`, {
      msgType: this.msgType, field: name,
    });
  }
}
