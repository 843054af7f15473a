import { readFileSync } from "node:fs";
import Module from "node:module";
import type * as TypeScript from "@tslab/typescript-for-tslab";
import type * as TslabConverter from "tslab/dist/converter";
import { requireWithCodeCache, type CachedModule } from "./code-cache";

type JsLoader = (module: NodeJS.Module & { _compile(code: string, filename: string): void }, filename: string) => void;
const extensions = (Module as unknown as { _extensions: Record<string, JsLoader> })._extensions;

/**
 * `require` for plain CommonJS packages that must not go through tsx. tsx's `.js` hook scans every
 * file for ESM syntax before compiling it: a quarter second for tslab's converter with semver, a
 * second for the 8 MB typescript.js (which code-cache.ts loads, also past tsx). These packages are
 * published CommonJS, so Node's own loading (read, then compile) is exact; it is swapped in only
 * for this synchronous call and what it loads.
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

let typescript: CachedModule | undefined;
let converterModule: typeof TslabConverter | undefined;

/**
 * TypeScript, loaded on first use: loading it takes most of a second, so the kernel answers
 * kernel_info before it (see CellExecutor.warmUp). tslab's converter requires the same module.
 */
export function loadTypeScript(): typeof TypeScript {
  typescript ??= requireWithCodeCache(require.resolve("@tslab/typescript-for-tslab"));
  return typescript.exports as typeof TypeScript;
}

/** Keeps V8's code for TypeScript for the next kernel start; call once a program has been built. */
export function saveTypeScriptCodeCache(): void {
  typescript?.saveCodeCache();
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
