import vm from "node:vm";
import type { Converter } from "tslab/dist/converter";
import { cellBindings, leaveUninitialized } from "./cell-bindings";
import { compileFailure, runtimeFailure, type CellFailure, type CellLocation } from "./cell-failure";
import { CELL_PRELUDE, type CellGlobals } from "./cell-prelude";
import { expandShorthandProperties } from "./expand-shorthand-properties";
import { createCellRequire } from "./cell-require";
import { InterruptError } from "./interrupt-error";
import { alignCompiledToSource } from "./source-line-map";
import { installPackageTypeResolution } from "./type-resolution";
import { loadTslabConverter, loadTypeScript, saveTypeScriptCodeCache } from "./typescript-loader";

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}

export type CellOutcome =
  | { status: "ok"; value: unknown; hasValue: boolean }
  | { status: "error"; failure: CellFailure; interrupted: boolean };

export interface Completion {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
}

export interface Inspection {
  found: boolean;
  text: string;
}

export type Completeness = { status: "complete" } | { status: "incomplete"; indent: string } | { status: "invalid" };

/** Told when a cell's own code starts and stops running (compiling is not included). */
export type UserCodeListener = (running: boolean) => void;

/** The global through which each wrapped cell script finds its exports object and require. */
const CELL_SCOPE = "__tokenlab_cell__";
const WRAPPER_LINES = 1;

/**
 * Compiles cells with tslab's converter (type checking against earlier cells' declarations) and
 * runs them in this context with `breakOnSigint`, so SIGINT breaks a synchronous loop. Variables
 * of all cells live in one exports object, as in tslab. Returns outcomes; never prints.
 */
export class CellExecutor {
  private converterInstance: Converter | undefined;
  /** Whether a cell has been converted yet (then warming up the type checker is pointless). */
  private converted = false;
  private previousDeclarations = "";
  private readonly exports: Record<string, unknown> = {};
  private readonly locations = new Map<string, CellLocation>();
  private readonly cellRequire: NodeJS.Require;

  constructor(
    rootDir: string,
    globals: CellGlobals,
    private readonly onUserCode: UserCodeListener = () => undefined,
  ) {
    this.cellRequire = createCellRequire(rootDir);
    Object.assign(this.exports, globals);
  }

  /**
   * Loads TypeScript, builds the program and type-checks an empty cell now (seconds on a busy
   * machine) instead of in the first cell. The steps yield to the event loop in between, so
   * requests that arrive meanwhile wait for one step, not all; a cell that comes first does the
   * remaining steps itself.
   */
  async warmUp(): Promise<void> {
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    loadTypeScript();
    await nextTurn();
    loadTslabConverter();
    await nextTurn();
    const converter = this.converter;
    await nextTurn();
    // The first check of a cell resolves the lib and @types declarations it may use.
    if (!this.converted) converter.convert(CELL_PRELUDE + this.previousDeclarations, "");
    saveTypeScriptCodeCache();
  }

  /**
   * Runs one cell. `stop` rejects when the cell must end early (interrupt, or an error thrown in a
   * callback the cell started); the cell's pending await then ends with that error.
   */
  async execute(source: string, label: string, stop: Promise<never>): Promise<CellOutcome> {
    const { code, sourceOffset } = expandShorthandProperties(source);
    const converted = this.converter.convert(CELL_PRELUDE + this.previousDeclarations, code);
    this.converted = true;
    let lineMap: number[] | undefined; // built on the first traceback that needs it, then kept
    const location: CellLocation = {
      label,
      source,
      scriptName: `${label}.js`,
      wrapperLines: WRAPPER_LINES,
      compiledLines: (converted.output ?? "").split("\n").length,
      toSourceLine: (line) => (lineMap ??= alignCompiledToSource(converted.output ?? "", code))[line] ?? 0,
      sourceOffset,
    };
    if (converted.diagnostics.length > 0) {
      return { status: "error", failure: compileFailure(converted.diagnostics, location), interrupted: false };
    }
    if (!converted.output) {
      this.previousDeclarations = converted.declOutput ?? "";
      return { status: "ok", value: undefined, hasValue: false };
    }
    this.locations.set(location.scriptName, location);
    const bindings = cellBindings(converted.output);
    const prefix = converted.hasToplevelAwait ? "(async function (exports, require) {" : "(function (exports, require) {";
    const script = `${prefix}\n${bindings.script}\n})(${CELL_SCOPE}.exports, ${CELL_SCOPE}.require)`;
    (globalThis as Record<string, unknown>)[CELL_SCOPE] = { exports: this.exportsProxy, require: this.cellRequire };
    let value: unknown;
    try {
      this.onUserCode(true);
      // A SIGINT that came while compiling (the event loop was blocked) is handled in the next
      // loop turn's poll phase; two check-phase turns let it reject `stop` before the code starts.
      for (let turn = 0; turn < 2; turn++) await Promise.race([stop, new Promise((resolve) => setImmediate(resolve))]);
      // From here on the cell's declarations count, whatever ends the cell: each name is filled
      // when its declaration runs, and one never reached stays uninitialized (a ReferenceError).
      leaveUninitialized(this.exports, bindings.names.filter((name) => name !== converted.lastExpressionVar), label);
      this.previousDeclarations = converted.declOutput ?? "";
      const returned: unknown = vm.runInThisContext(script, { filename: location.scriptName, breakOnSigint: true });
      if (converted.hasToplevelAwait) await Promise.race([returned, stop]);
      value = this.takeLastValue(converted.lastExpressionVar);
      // A promise as the cell's value is awaited, so its rejection fails this cell.
      if (isThenable(value)) value = await Promise.race([value, stop]);
      // One macrotask turn lets unhandled rejections of this cell surface while it still runs.
      await Promise.race([new Promise((resolve) => setImmediate(resolve)), stop]);
    } catch (thrown) {
      if (converted.lastExpressionVar) delete this.exports[converted.lastExpressionVar];
      return this.failed(thrown);
    } finally {
      this.onUserCode(false);
    }
    return { status: "ok", value, hasValue: value !== undefined };
  }

  private takeLastValue(name: string | undefined): unknown {
    if (!name || !(name in this.exports)) return undefined;
    const value = this.exports[name];
    delete this.exports[name];
    return value;
  }

  /** Describes an error from outside a cell's own run (an async callback) with cell positions. */
  failureOf(thrown: unknown): CellFailure {
    return runtimeFailure(thrown, this.locations);
  }

  complete(source: string, cursor: number): Completion {
    const info = this.converter.complete(CELL_PRELUDE + this.previousDeclarations, source, cursor);
    return { matches: info.candidates, cursorStart: info.start, cursorEnd: info.end };
  }

  inspect(source: string, cursor: number): Inspection {
    const info = this.converter.inspect(CELL_PRELUDE + this.previousDeclarations, source, cursor);
    if (!info) return { found: false, text: "" };
    const ts = loadTypeScript();
    const signature = ts.displayPartsToString(info.displayParts);
    const doc = ts.displayPartsToString(info.documentation);
    const tags = (info.tags ?? []).map((tag) => `@${tag.name} ${ts.displayPartsToString(tag.text)}`.trim());
    return { found: true, text: [signature, doc, ...tags].filter((part) => part !== "").join("\n\n") };
  }

  isComplete(source: string): Completeness {
    const answer = loadTslabConverter().isCompleteCode(source);
    if (!answer.completed) return { status: "incomplete", indent: answer.indent ?? "" };
    const ts = loadTypeScript();
    const parsed = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    const parseErrors = (parsed as unknown as { parseDiagnostics?: unknown[] }).parseDiagnostics ?? [];
    return parseErrors.length > 0 ? { status: "invalid" } : { status: "complete" };
  }

  close(): void {
    this.converterInstance?.close();
  }

  private failed(thrown: unknown): CellOutcome {
    const interrupted =
      thrown instanceof InterruptError || (thrown as { code?: string } | null)?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED";
    const error = interrupted && !(thrown instanceof InterruptError) ? new InterruptError({ during: "synchronous code" }) : thrown;
    return { status: "error", failure: runtimeFailure(error, this.locations), interrupted };
  }

  private get converter(): Converter {
    if (!this.converterInstance) {
      installPackageTypeResolution();
      // isBrowser only adds the DOM lib: tokenlab's own tsconfig has it (WebAssembly, fetch types),
      // and "tokenlab" resolves to lib/ sources, which the converter type-checks with the cell.
      this.converterInstance = loadTslabConverter().createConverter({ isBrowser: true });
    }
    return this.converterInstance;
  }

  /**
   * The converter exports every top-level name through Object.defineProperty; storing plain values
   * keeps names from earlier cells reassignable (tslab does the same).
   */
  private readonly exportsProxy = new Proxy(this.exports, {
    defineProperty: (target, property, attributes) => {
      if (property === "__esModule") return true;
      target[property as string] = attributes.get ? attributes.get() : attributes.value;
      return true;
    },
  });
}
