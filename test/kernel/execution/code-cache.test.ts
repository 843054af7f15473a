import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireWithCodeCache } from "../../../kernel/execution/code-cache";

const CODE_CACHE_MODULE = join(__dirname, "..", "..", "..", "kernel", "execution", "code-cache.ts");

/**
 * V8 also keeps compiled code per process and then ignores the cached data it is given, so
 * whether a cache file is used is only seen in a fresh process, as in a new kernel.
 */
function loadInFreshProcess(file: string, cacheHome: string): { usedCache: boolean; twice: number } {
  const script = `
    const { requireWithCodeCache } = require(${JSON.stringify(CODE_CACHE_MODULE)});
    const loaded = requireWithCodeCache(${JSON.stringify(file)});
    loaded.saveCodeCache();
    process.stdout.write(JSON.stringify({ usedCache: loaded.usedCache, twice: loaded.exports.twice(21) }));`;
  const output = execFileSync(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", script], {
    env: { ...process.env, XDG_CACHE_HOME: cacheHome },
    encoding: "utf8",
  });
  return JSON.parse(output) as { usedCache: boolean; twice: number };
}

describe("requireWithCodeCache", function () {
  let dir: string;
  let cacheHome: string;
  const cacheFiles = () => readdirSync(join(cacheHome, "tokenlab", "v8-code-cache"));

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "tokenlab-code-cache-"));
    cacheHome = join(dir, "cache");
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  function writeModule(): string {
    const file = join(dir, "big.js");
    // require, module and __dirname must be those of the file, as with Node's own loader.
    writeFileSync(file, `const path = require("path");\nmodule.exports = { twice: (x) => 2 * x, here: path.basename(__dirname), self: module.id };\n`);
    return file;
  }

  it("loads a CommonJS file like require does, into require.cache", function () {
    const file = writeModule();
    const loaded = requireWithCodeCache(file);
    const exports = loaded.exports as { twice(x: number): number; here: string; self: string };
    assert.equal(exports.twice(21), 42);
    assert.equal(exports.here, dir.split("/").pop());
    assert.equal(exports.self, file);
    assert.equal(require(file), loaded.exports, "a plain require gets the same instance");
    delete require.cache[file];
  });

  it("saves V8's code once and compiles from it in the next process", function () {
    const file = writeModule();
    assert.deepEqual(loadInFreshProcess(file, cacheHome), { usedCache: false, twice: 42 });
    assert.equal(cacheFiles().length, 1);
    assert.deepEqual(loadInFreshProcess(file, cacheHome), { usedCache: true, twice: 42 });
  });

  it("ignores a corrupt cache file and replaces it", function () {
    const file = writeModule();
    loadInFreshProcess(file, cacheHome);
    const [name] = cacheFiles();
    writeFileSync(join(cacheHome, "tokenlab", "v8-code-cache", name!), "not V8 code");
    assert.deepEqual(loadInFreshProcess(file, cacheHome), { usedCache: false, twice: 42 });
    assert.deepEqual(loadInFreshProcess(file, cacheHome), { usedCache: true, twice: 42 });
    assert.deepEqual(cacheFiles(), [name], "replaced in place, no temporary files left");
  });

  it("leaves no half-loaded module behind when the file throws", function () {
    const file = join(dir, "broken.js");
    writeFileSync(file, `throw new Error("broken on purpose");\n`);
    assert.throws(() => requireWithCodeCache(file), /broken on purpose/);
    assert.equal(require.cache[file], undefined);
  });
});
