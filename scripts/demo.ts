// `npm run demo`: executes notebooks/01-quickstart.ipynb in a fresh tokenlab kernel on the bundled base
// model and writes the executed notebook plus a self-contained HTML report to demo-output/ (not in git),
// or to the folder given as its one argument (`npm run demo -- DIR`).
// The notebook runs through `tokenlab nbtest --update` (kernel/nbtest), so there is one notebook runner.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { nbtestMain } from "../kernel/nbtest/cli";
import { joinText, readNotebook, type Notebook, type Output } from "../kernel/nbtest/notebook-file";
import { escapeHtml } from "../lib/display/html-escape";

const ROOT = resolve(__dirname, "..");
const NOTEBOOK = join(ROOT, "notebooks/01-quickstart.ipynb");
const DEFAULT_OUTPUT_DIR = join(ROOT, "demo-output");
const NBCONVERT = "/usr/bin/jupyter";

async function main(argv: string[]): Promise<number> {
  if (argv.length > 1 || argv[0]?.startsWith("-")) {
    process.stderr.write("usage: npm run demo [-- OUTPUT_DIR]   (default: demo-output/)\n");
    return 2;
  }
  const outputDir = argv.length === 1 ? resolve(argv[0]) : DEFAULT_OUTPUT_DIR;
  mkdirSync(outputDir, { recursive: true });
  const executed = join(outputDir, basename(NOTEBOOK));
  // Run a copy: the kernel's working directory is the copy's folder, and notebooks/ stays untouched.
  copyFileSync(NOTEBOOK, executed);
  const started = performance.now();
  process.stdout.write(`Running ${NOTEBOOK} in a fresh tokenlab kernel (about a minute on 2 CPU cores)...\n`);
  const code = await nbtestMain(["--update", executed]);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  if (code !== 0) {
    process.stderr.write(`The quickstart failed after ${seconds} s (see above); partial outputs are in ${executed}\n`);
    return code;
  }
  const html = writeHtml(executed);
  process.stdout.write(`\nExecuted in ${seconds} s.\n  notebook: ${executed}\n  HTML report: ${html}\nOpen the HTML report in a browser (it works offline).\n`);
  return 0;
}

/** nbconvert's HTML when Debian's jupyter-nbconvert is there, else a plain page of the outputs. */
function writeHtml(notebookPath: string): string {
  const target = notebookPath.replace(/\.ipynb$/, ".html");
  if (existsSync(NBCONVERT)) {
    try {
      execFileSync(NBCONVERT, ["nbconvert", "--to", "html", "--output-dir", dirname(notebookPath), notebookPath], { stdio: "pipe" });
      return target;
    } catch (error) {
      process.stderr.write(`nbconvert failed (${(error as Error).message.split("\n")[0]}); writing a plain HTML page instead\n`);
    }
  }
  const temp = `${target}.${process.pid}.tmp`;
  writeFileSync(temp, plainPage(readNotebook(notebookPath)));
  renameSync(temp, target);
  return target;
}

/** Markdown as preformatted text, code with its outputs: text/html where there is one, else text/plain. */
function plainPage(notebook: Notebook): string {
  const cells = notebook.cells.map((cell) => {
    const source = `<pre class="${cell.cell_type}">${escapeHtml(joinText(cell.source))}</pre>`;
    return cell.cell_type === "code" ? source + (cell.outputs ?? []).map(outputHtml).join("\n") : source;
  });
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>tokenlab quickstart</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:auto}pre.code{background:#f4f4f4;padding:8px}pre.markdown{white-space:pre-wrap;font-family:sans-serif}</style>
</head><body>\n${cells.join("\n")}\n</body></html>\n`;
}

function outputHtml(output: Output): string {
  if (output.output_type === "stream") return `<pre>${escapeHtml(joinText(output.text))}</pre>`;
  if (output.output_type === "error") return `<pre style="color:#b00">${escapeHtml(`${output.ename}: ${output.evalue}`)}</pre>`;
  const html = output.data["text/html"];
  if (html !== undefined) return joinText(html);
  return `<pre>${escapeHtml(joinText(output.data["text/plain"] ?? ""))}</pre>`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
