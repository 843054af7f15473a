import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const LIB = path.join(ROOT, "lib");
const KERNEL = path.join(ROOT, "kernel");

/** Every .ts file under `dir`, recursively. */
function typeScriptFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/**
 * The module specifiers of `source` (static and dynamic imports, re-exports, require calls) that
 * resolve into kernel/. TypeScript's own pre-processor finds them, so comments and strings that
 * merely mention kernel/ do not count.
 */
function kernelImports(file: string, source: string): string[] {
  const specifiers = ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
  return specifiers.filter((specifier) => {
    if (!specifier.startsWith(".")) return false; // packages; the kernel is not one
    const resolved = path.resolve(path.dirname(file), specifier);
    return resolved === KERNEL || resolved.startsWith(KERNEL + path.sep);
  });
}

describe("architecture", () => {
  it("finds kernel imports of every form, and only those", () => {
    const file = path.join(LIB, "display", "example.ts");
    const source = [
      `import { a } from "../../kernel/display/a";`,
      `export * from "../../kernel";`,
      `const b = require("../../kernel/b");`,
      `const c = import("../../kernel/c");`,
      `import "../runtime/notebook-host"; // kernel/ is only named here`,
      `import * as tf from "@tensorflow/tfjs-core";`,
      `const note = "../../kernel/not-an-import";`,
    ].join("\n");
    assert.deepEqual(kernelImports(file, source), ["../../kernel/display/a", "../../kernel", "../../kernel/b", "../../kernel/c"]);
  });

  it("no file under lib/ imports from kernel/ (lib objects render without the kernel)", () => {
    const files = typeScriptFiles(LIB);
    assert.ok(files.length > 20, `found ${files.length} lib files`);
    const offenders = files.flatMap((file) =>
      kernelImports(file, fs.readFileSync(file, "utf8")).map((specifier) => `${path.relative(ROOT, file)}: ${specifier}`),
    );
    assert.deepEqual(offenders, []);
  });
});
