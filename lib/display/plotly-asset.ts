import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * plotly.js from `plotly.js-dist`, ready to embed in an output: minified (esbuild, which tsx already
 * brings), gzipped and base64-encoded — 11.2 MB of source become ~2.0 MB of text, which the browser
 * inflates with `DecompressionStream("gzip")`. Building it takes ~1.5 s of CPU, so the result is
 * cached per process and on disk under the OS temp folder, keyed by the source's hash.
 */
export interface PlotlyAsset {
  readonly version: string;
  /** base64 of gzip(minified plotly.js) */
  readonly gzipBase64: string;
}

let memo: PlotlyAsset | undefined;

export function plotlyAsset(): PlotlyAsset {
  memo ??= loadOrBuild();
  return memo;
}

function loadOrBuild(): PlotlyAsset {
  const sourcePath = require.resolve("plotly.js-dist");
  const version = (require("plotly.js-dist/package.json") as { version: string }).version;
  const source = readFileSync(sourcePath, "utf8");
  const key = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const cachePath = join(tmpdir(), "tokenlab", `plotly-${version}-${key}.min.js.gz.b64`);
  try {
    return { version, gzipBase64: readFileSync(cachePath, "utf8") };
  } catch {
    const gzipBase64 = gzipSync(minify(source), { level: 9 }).toString("base64");
    writeAtomically(cachePath, gzipBase64);
    return { version, gzipBase64 };
  }
}

function minify(source: string): string {
  // esbuild is tsx's dependency; resolve it from there so hoisting does not matter.
  const esbuildPath = require.resolve("esbuild", { paths: [dirname(require.resolve("tsx/package.json"))] });
  const esbuild = require(esbuildPath) as typeof import("esbuild");
  return esbuild.transformSync(source, { minify: true, legalComments: "eof" }).code; // "eof" keeps the MIT notices
}

function writeAtomically(path: string, text: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, text);
    renameSync(temp, path);
  } catch {
    // The cache only saves time; a read-only temp folder must not break displaying a figure.
  }
}
