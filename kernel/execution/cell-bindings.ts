import type * as TS from "@tslab/typescript-for-tslab";
import { loadTypeScript } from "./typescript-loader";

/** A compiled cell ready to run, and the top-level names it declares. */
export interface CellBindings {
  /** The compiled cell with its `exports.x = void 0` prologue replaced; same lines as the input. */
  script: string;
  /** Every top-level name the cell declares (each is assigned to `exports` where it is declared). */
  names: string[];
}

/** `exports.a = exports.b = void 0` → ["a", "b"]; undefined for any other statement. */
function prologueNames(statement: TS.Statement): string[] | undefined {
  const ts = loadTypeScript();
  if (!ts.isExpressionStatement(statement)) return undefined;
  const names: string[] = [];
  let expression: TS.Expression = statement.expression;
  while (ts.isBinaryExpression(expression) && expression.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    const target = expression.left;
    if (!ts.isPropertyAccessExpression(target) || !ts.isIdentifier(target.expression) || target.expression.text !== "exports") {
      return undefined;
    }
    names.push(target.name.text);
    expression = expression.right;
  }
  const endsInVoid0 = ts.isVoidExpression(expression) && ts.isNumericLiteral(expression.expression) && expression.expression.text === "0";
  return endsInVoid0 && names.length > 0 ? names : undefined;
}

/**
 * Reads what a compiled cell declares and rewrites its prologue.
 *
 * Why: TypeScript's CommonJS output starts with `exports.x = … = void 0` for every name the cell
 * declares, then assigns `exports.x = x` right after each declaration. The prologue would turn a
 * name that an interrupted or failing cell never reached into a plain `undefined` (or reset an
 * earlier cell's value of a redeclared name), while the type checker goes on believing its
 * declared type. Without it, the executor marks the names uninitialized instead (see
 * `leaveUninitialized`), and each declaration the cell reaches fills its own name. Function
 * declarations are hoisted in JavaScript, so the prologue's line exports them at once: a cell
 * that throws early still leaves its functions usable, as in Deno.
 */
export function cellBindings(compiled: string): CellBindings {
  const ts = loadTypeScript();
  const file = ts.createSourceFile("cell.js", compiled, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const names: string[] = [];
  const prologues: TS.Statement[] = [];
  const hoisted: string[] = [];
  for (const statement of file.statements) {
    const declared = prologueNames(statement);
    if (declared) {
      names.push(...declared);
      prologues.push(statement);
    } else if (ts.isFunctionDeclaration(statement) && statement.name && statement.body) {
      hoisted.push(statement.name.text);
    }
  }
  let script = compiled;
  // Right to left, so earlier positions stay valid; the prologue is one line, so lines are kept.
  for (const [index, statement] of [...prologues.entries()].reverse()) {
    const replacement = index === 0 ? hoisted.filter((name) => names.includes(name)).map((name) => `exports.${name} = ${name};`).join(" ") : "";
    script = script.slice(0, statement.getStart(file)) + replacement + script.slice(statement.getEnd());
  }
  return { script, names };
}

/**
 * Makes each name in `exports` a binding that throws a ReferenceError when read (like a `let` in
 * its temporal dead zone) until it is assigned, which turns it into a plain value.
 */
export function leaveUninitialized(exports: Record<string, unknown>, names: readonly string[], label: string): void {
  for (const name of names) {
    Object.defineProperty(exports, name, {
      configurable: true,
      enumerable: true,
      get() {
        throw new ReferenceError(
          `${name} is not initialized: ${label} stopped before its declaration of ${name} ran. Run that cell again or declare ${name} anew.`,
        );
      },
      set(value: unknown) {
        Object.defineProperty(exports, name, { value, writable: true, enumerable: true, configurable: true });
      },
    });
  }
}
