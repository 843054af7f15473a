import { mkdirSync, readFileSync, statSync } from "node:fs";
import Module from "node:module";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import vm from "node:vm";
import { writeFileAtomic } from "../../lib/hf/atomic-write";

interface CommonJsModule {
  exports: unknown;
  filename: string;
  paths: string[];
  loaded: boolean;
}
const ModuleInternals = Module as unknown as {
  new (id: string): CommonJsModule;
  _nodeModulePaths(dir: string): string[];
};

export interface CachedModule {
  exports: unknown;
  /** Whether V8 compiled the file from a cache saved by an earlier process. */
  usedCache: boolean;
  /** Stores V8's code for the file, including functions compiled since loading; once per process. */
  saveCodeCache(): void;
}

/** Per user, not in the shared temp dir: V8 runs cached code without checking where it came from. */
function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "tokenlab", "v8-code-cache");
}

/**
 * Loads a big CommonJS file (typescript.js, 8 MB) with V8's code cache kept on disk between kernel
 * starts, as v8-compile-cache does (Node 20 has no module.enableCompileCache). Saved after use, the
 * cache also holds the functions V8 compiled lazily while building the first program. A cache
 * V8 rejects (other Node version, changed file) is rewritten; one that cannot be written is skipped.
 */
export function requireWithCodeCache(filename: string): CachedModule {
  const loaded = require.cache[filename];
  if (loaded) return { exports: loaded.exports, usedCache: false, saveCodeCache: () => undefined };
  const source = readFileSync(filename, "utf8");
  const { size, mtimeMs } = statSync(filename);
  const key = `${basename(filename)}-${process.version}-${process.arch}-${size}-${Math.round(mtimeMs)}.bin`;
  const cacheFile = join(cacheDir(), key);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // first start with this file and Node version
  }
  const script = new vm.Script(Module.wrap(source), { filename, cachedData });
  const module = new ModuleInternals(filename);
  module.filename = filename;
  module.paths = ModuleInternals._nodeModulePaths(dirname(filename));
  // In the cache before it runs, so that a later require of the same file gets this instance.
  require.cache[filename] = module as unknown as NodeJS.Module;
  try {
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(module.exports, module.exports, Module.createRequire(filename), module, filename, dirname(filename));
  } catch (error) {
    delete require.cache[filename]; // as Node does, so that the next require tries again
    throw error;
  }
  module.loaded = true;
  const usedCache = cachedData !== undefined && script.cachedDataRejected === false;
  let needsSave = !usedCache;
  return {
    exports: module.exports,
    usedCache,
    saveCodeCache() {
      if (!needsSave) return;
      needsSave = false;
      try {
        mkdirSync(cacheDir(), { recursive: true, mode: 0o700 });
        writeFileAtomic(cacheFile, script.createCachedData()); // a kernel starting meanwhile reads all or nothing
      } catch {
        // a read-only home only costs the next start its compile time
      }
    },
  };
}
