import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..", "..");

/** Runs `body` in a fresh Node with tsx (as bin/tokenlab.js does) and returns what it prints as JSON. */
function inFreshProcess<T>(body: string): T {
  const output = execFileSync(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", body], { cwd: ROOT, encoding: "utf8" });
  return JSON.parse(output) as T;
}

const LOADED = `Object.keys(require.cache).filter((file) => file.endsWith(".js") && /typescript-for-tslab|tslab[\\\\/]dist/.test(file))`;

describe("loading TypeScript on first use", function () {
  it("the kernel session loads and answers kernel_info without loading TypeScript or tslab", function () {
    const result = inFreshProcess<{ loaded: string[]; version: string; actual: string }>(`
      require("./kernel/handler/kernel-session.ts");
      const info = require("./kernel/handler/kernel-info.ts").kernelInfoContent();
      const loaded = ${LOADED};
      const actual = require("@tslab/typescript-for-tslab").version;
      process.stdout.write(JSON.stringify({ loaded, version: info.language_info.version, actual }));`);
    assert.deepEqual(result.loaded, []);
    assert.equal(result.version, result.actual, "kernel_info names the TypeScript the cells are checked with");
  });

  it("gives tslab's converter the same TypeScript instance, and type-checks with it", function () {
    const result = inFreshProcess<{ same: boolean; diagnostics: string[]; output: string }>(`
      const { loadTslabConverter, loadTypeScript } = require("./kernel/execution/typescript-loader.ts");
      const converter = loadTslabConverter().createConverter({ isBrowser: true });
      const same = require("@tslab/typescript-for-tslab") === loadTypeScript();
      const bad = converter.convert("", "const n: number = 'text';");
      const good = converter.convert("", "const m: number = 2; m * 21");
      converter.close();
      process.stdout.write(JSON.stringify({ same, diagnostics: bad.diagnostics.map((d) => d.messageText), output: good.output }));`);
    assert.equal(result.same, true);
    assert.match(result.diagnostics.join("\n"), /Type 'string' is not assignable to type 'number'/);
    assert.match(result.output, /m \* 21/);
  });
});
