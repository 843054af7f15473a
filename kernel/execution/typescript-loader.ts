import { readFileSync } from "node:fs";
import Module from "node:module";
import type * as TypeScript from "@tslab/typescript-for-tslab";
import type * as TslabConverter from "tslab/dist/converter";

type JsLoader = (module: NodeJS.Module & { _compile(code: string, filename: string): void }, filename: string) => void;
const extensions = (Module as unknown as { _extensions: Record<string, JsLoader> })._extensions;

/**
 * `require` for plain CommonJS packages that must not go through tsx. tsx's `.js` hook scans every
 * file for ESM syntax before compiling it, which costs about a second for the 8 MB typescript.js
 * (twice what compiling it takes). These packages are published CommonJS, so Node's own loading
 * (read, then compile) is exact; it is swapped in only for this synchronous call and what it loads.
 */
function requirePlainCommonJs<T>(id: string): T {
  const tsxLoader = extensions[".js"];
  extensions[".js"] = (module, filename) => module._compile(readFileSync(filename, "utf8"), filename);
  try {
    return require(id) as T;
  } finally {
    extensions[".js"] = tsxLoader;
  }
}

let typescript: typeof TypeScript | undefined;
let converterModule: typeof TslabConverter | undefined;

/**
 * TypeScript, loaded on first use: loading it takes most of a second, so the kernel answers
 * kernel_info before it (see CellExecutor.warmUp). tslab's converter requires the same module.
 */
export function loadTypeScript(): typeof TypeScript {
  return (typescript ??= requirePlainCommonJs<typeof TypeScript>("@tslab/typescript-for-tslab"));
}

/** tslab's converter module (TS → JS with type checking), loaded on first use with TypeScript. */
export function loadTslabConverter(): typeof TslabConverter {
  loadTypeScript();
  return (converterModule ??= requirePlainCommonJs<typeof TslabConverter>("tslab/dist/converter"));
}

/** The TypeScript version cells are checked with, without loading TypeScript (for kernel_info). */
export function typeScriptVersion(): string {
  return (require("@tslab/typescript-for-tslab/package.json") as { version: string }).version;
}
