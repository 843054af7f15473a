import Module from "node:module";
import { join } from "node:path";
import { PACKAGE_NAME, PACKAGE_ROOT } from "./package-root";

/**
 * `require` for cells: resolves from the notebook's directory like a file there would, and maps
 * the bare specifier "tokenlab" (and "tokenlab/...") to this package even when the notebook lives
 * inside the tokenlab repository, where node_modules/tokenlab does not exist. ESM-only packages
 * load through Node's require(esm); local .ts files through tsx, which the CLI registers.
 */
export function createCellRequire(rootDir: string): NodeJS.Require {
  const base = Module.createRequire(join(rootDir, "__cell__.js"));
  const own = Module.createRequire(join(PACKAGE_ROOT, "package.json"));
  const cellRequire = ((id: string) => {
    if (id === PACKAGE_NAME) return own(join(PACKAGE_ROOT, "lib", "index"));
    if (id.startsWith(`${PACKAGE_NAME}/`)) return own(join(PACKAGE_ROOT, id.slice(PACKAGE_NAME.length + 1)));
    return base(id);
  }) as NodeJS.Require;
  return Object.assign(cellRequire, { resolve: base.resolve, cache: base.cache, main: base.main, extensions: base.extensions });
}
