import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { ExperimentError } from "./experiment-error";

/**
 * The shape a YAML value must have. A small declarative schema rather than ad-hoc checks, so every
 * error names the key path and the line of the offending node, and unknown keys are caught everywhere.
 */
export type Shape =
  | { kind: "string"; nonEmpty?: boolean }
  | { kind: "number"; integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean }
  | { kind: "boolean" }
  | { kind: "null" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "literal"; value: boolean }
  | { kind: "list"; of: Shape; nonEmpty?: boolean }
  | { kind: "object"; fields: Readonly<Record<string, Shape>>; required?: readonly string[] }
  | { kind: "record"; of: Shape }
  /** The first option whose `kind` family matches the node (scalar / list / object with that first key). */
  | { kind: "oneOf"; options: readonly Shape[]; describe: string };

/** A parsed YAML document whose values can be validated against a Shape, with lines for every error. */
export class YamlSource {
  private readonly lines = new LineCounter();
  readonly root: Node | null;

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    const doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false });
    const problem = doc.errors[0];
    if (problem) {
      const line = this.lines.linePos(problem.pos[0]).line;
      throw new ExperimentError(`${file}:${line}: not valid YAML: ${problem.message.split("\n")[0]}`, { file, line });
    }
    this.root = doc.contents as Node | null;
  }

  /** Line (1-based) where `node` starts; the document's first line without a node. */
  lineOf(node: Node | null | undefined): number {
    return node?.range ? this.lines.linePos(node.range[0]).line : 1;
  }

  /** An error about `node` at key path `path` ("train.steps"). */
  error(node: Node | null | undefined, path: string, message: string): ExperimentError {
    const line = this.lineOf(node);
    return new ExperimentError(`${this.file}:${line}: ${path ? `${path}: ` : ""}${message}`, { file: this.file, line, key: path });
  }

  /** The plain value of `node` checked against `shape`; throws ExperimentError at the first problem. */
  read(node: Node | null, shape: Shape, path: string): unknown {
    switch (shape.kind) {
      case "string": {
        const value = this.scalar(node, path, "a string", (v) => typeof v === "string");
        if (shape.nonEmpty && value === "") throw this.error(node, path, "must not be empty");
        return value;
      }
      case "number": {
        const value = this.scalar(node, path, shape.integer ? "a whole number" : "a number", (v) => typeof v === "number" && Number.isFinite(v)) as number;
        if (shape.integer && !Number.isInteger(value)) throw this.error(node, path, `must be a whole number, got ${value}`);
        const low = shape.min !== undefined && (shape.exclusiveMin ? value <= shape.min : value < shape.min);
        if (low || (shape.max !== undefined && value > shape.max)) throw this.error(node, path, `must be ${range(shape)}, got ${value}`);
        return value;
      }
      case "boolean":
        return this.scalar(node, path, "true or false", (v) => typeof v === "boolean");
      case "null":
        return this.scalar(node, path, "null", (v) => v === null);
      case "literal":
        return this.scalar(node, path, String(shape.value), (v) => v === shape.value);
      case "enum":
        return this.scalar(node, path, `one of ${shape.values.map((v) => JSON.stringify(v)).join(", ")}`, (v) => typeof v === "string" && shape.values.includes(v));
      case "list": {
        if (!isSeq(node)) throw this.error(node, path, `must be a list, got ${describe(node)}`);
        if (shape.nonEmpty && node.items.length === 0) throw this.error(node, path, "must not be an empty list");
        return node.items.map((item, i) => this.read(item as Node, shape.of, `${path}[${i}]`));
      }
      case "record":
      case "object":
        return this.readMap(node, shape, path);
      case "oneOf":
        return this.readOneOf(node, shape, path);
    }
  }

  private readMap(node: Node | null, shape: Extract<Shape, { kind: "object" | "record" }>, path: string): Record<string, unknown> {
    if (!isMap(node)) throw this.error(node, path, `must be a mapping (key: value), got ${describe(node)}`);
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : "";
      const keyPath = path ? `${path}.${key}` : key;
      const field = shape.kind === "record" ? shape.of : Object.hasOwn(shape.fields, key) ? shape.fields[key] : undefined;
      if (!field) {
        const known = Object.keys((shape as { fields: Record<string, Shape> }).fields);
        const near = known.find((k) => k.toLowerCase() === key.toLowerCase() || editDistance(k, key) <= 2);
        throw this.error(keyNode, keyPath, `unknown key${near ? ` (did you mean "${near}"?)` : ""}; the keys here are ${known.join(", ")}`);
      }
      out[key] = this.read(pair.value as Node | null, field, keyPath);
    }
    for (const key of shape.kind === "object" ? (shape.required ?? []) : []) {
      if (!(key in out)) throw this.error(node, path ? `${path}.${key}` : key, "is missing (required)");
    }
    return out;
  }

  private readOneOf(node: Node | null, shape: Extract<Shape, { kind: "oneOf" }>, path: string): unknown {
    const firstKey = isMap(node) && isScalar(node.items[0]?.key) ? String((node.items[0].key as { value: unknown }).value) : undefined;
    const candidates = shape.options.filter((option) =>
      isMap(node) ? (option.kind === "object" && firstKey !== undefined && firstKey in option.fields) || option.kind === "record" : isSeq(node) ? option.kind === "list" : !["list", "object", "record"].includes(option.kind),
    );
    let firstError: unknown;
    for (const option of candidates) {
      try {
        return this.read(node, option, path);
      } catch (error) {
        firstError ??= error;
      }
    }
    // A single candidate knows best what is wrong inside it; several scalar ones do not.
    if (candidates.length === 1 && (isMap(node) || isSeq(node))) throw firstError;
    throw this.error(node, path, `must be ${shape.describe}, got ${describe(node)}`);
  }

  private scalar(node: Node | null, path: string, expected: string, ok: (value: unknown) => boolean): unknown {
    const value = isScalar(node) ? node.value : undefined;
    if (!isScalar(node) || !ok(value)) throw this.error(node, path, `must be ${expected}, got ${describe(node)}`);
    return value;
  }
}

function range(shape: Extract<Shape, { kind: "number" }>): string {
  const low = shape.min === undefined ? "" : `${shape.exclusiveMin ? ">" : "≥"} ${shape.min}`;
  const high = shape.max === undefined ? "" : `≤ ${shape.max}`;
  return [shape.integer ? "a whole number" : "a number", [low, high].filter(Boolean).join(" and ")].filter(Boolean).join(" ");
}

/** How a node reads in an error: its value for scalars, its kind otherwise. */
function describe(node: Node | null): string {
  if (node === null || node === undefined) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return node.value === null ? "null" : `${typeof node.value} ${JSON.stringify(node.value)}`;
  return "an alias or tag";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}
