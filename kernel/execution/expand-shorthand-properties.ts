import type * as TS from "@tslab/typescript-for-tslab";
import { loadTypeScript } from "./typescript-loader";

export interface ExpandedSource {
  code: string;
  /** The offset in the original cell of an offset in `code` (text that was inserted maps to where it was inserted). */
  sourceOffset(offset: number): number;
}

/**
 * Rewrites `{ base }` to `{ base: base }` in a cell's source.
 *
 * Why: tslab's converter turns references to earlier cells' variables into `exports.base`, but it
 * misses shorthand properties, so `({ base })` would throw "base is not defined". Expanding them
 * first is meaning-preserving everywhere a shorthand may stand (object literals and destructuring
 * assignment targets, with or without `= default`), and adds no line breaks, so line numbers stay
 * those of the cell; columns after an insertion shift, which `sourceOffset` undoes for diagnostics.
 */
export function expandShorthandProperties(source: string): ExpandedSource {
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
  insertions.sort((a, b) => a.at - b.at);
  let code = "";
  let copied = 0;
  for (const { at, text } of insertions) {
    code += source.slice(copied, at) + text;
    copied = at;
  }
  code += source.slice(copied);
  const sourceOffset = (offset: number): number => {
    let shift = 0;
    for (const { at, text } of insertions) {
      const insertedAt = at + shift;
      if (offset < insertedAt) break;
      if (offset < insertedAt + text.length) return at;
      shift += text.length;
    }
    return offset - shift;
  };
  return { code, sourceOffset };
}
