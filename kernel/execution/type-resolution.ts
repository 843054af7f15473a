import { join, sep } from "node:path";
import { PACKAGE_NAME, PACKAGE_ROOT } from "./package-root";
import { loadTypeScript } from "./typescript-loader";

/**
 * Lets the type checker resolve `import ... from "tokenlab"` the way cell-require resolves it at
 * run time: a lookup of .../node_modules/tokenlab/<rest> that finds nothing is answered from this
 * package's directory. tslab's converter reads files through ts.sys, so this wraps ts.sys once,
 * before the first converter is created.
 */
let installed = false;

export function installPackageTypeResolution(): void {
  if (installed) return;
  installed = true;
  const marker = `${sep}node_modules${sep}${PACKAGE_NAME}`;
  const redirect = (path: string): string => {
    const at = path.lastIndexOf(marker);
    if (at < 0) return path;
    const rest = path.slice(at + marker.length);
    if (rest !== "" && !rest.startsWith(sep)) return path;
    return join(PACKAGE_ROOT, rest);
  };
  const sys = loadTypeScript().sys;
  for (const method of ["fileExists", "directoryExists", "readFile", "realpath"] as const) {
    const original = sys[method] as ((path: string, ...rest: unknown[]) => unknown) | undefined;
    if (!original) continue;
    (sys as unknown as Record<string, unknown>)[method] = (path: string, ...rest: unknown[]) => {
      const direct = original.call(sys, path, ...rest);
      if (method === "realpath" || direct) return direct;
      const redirected = redirect(path);
      return redirected === path ? direct : original.call(sys, redirected, ...rest);
    };
  }
}
