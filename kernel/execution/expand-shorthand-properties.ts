import type * as TS from "@tslab/typescript-for-tslab";
import { loadTypeScript } from "./typescript-loader";

/**
 * Rewrites `{ base }` to `{ base: base }` in a cell's source.
 *
 * Why: tslab's converter turns references to earlier cells' variables into `exports.base`, but it
 * misses shorthand properties, so `({ base })` would throw "base is not defined". Expanding them
 * first is meaning-preserving everywhere a shorthand may stand (object literals and destructuring
 * assignment targets, with or without `= default`), and adds no line breaks, so line positions in
 * error messages stay those of the cell.
 */
export function expandShorthandProperties(source: string): string {
  const ts = loadTypeScript();
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const insertions: Array<{ at: number; text: string }> = [];
  const visit = (node: TS.Node): void => {
    if (ts.isShorthandPropertyAssignment(node)) {
      insertions.push({ at: node.name.getEnd(), text: `: ${node.name.text}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let expanded = source;
  for (const { at, text } of insertions.sort((a, b) => b.at - a.at)) {
    expanded = expanded.slice(0, at) + text + expanded.slice(at);
  }
  return expanded;
}
