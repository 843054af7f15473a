import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runNode } from "../nbtest/run-nbtest";

const ROOT = resolve(__dirname, "../..");
const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** `npm run demo -- OUTPUT_DIR` without npm: the same node command package.json's script runs. */
function runDemo(outputDir: string): Promise<{ code: number; output: string }> {
  return runNode(["--import", "tsx", "scripts/demo.ts", outputDir], ROOT);
}

function printedPath(output: string, label: string): string {
  const match = new RegExp(`^\\s+${label}: (.+)$`, "m").exec(output);
  assert.ok(match, `no "${label}:" line in the demo's output:\n${output}`);
  return match[1];
}

describe("npm run demo (the README's first command)", function () {
  this.timeout(600_000);

  it("runs the quickstart into the given folder and writes an HTML report with its plotly chart", async () => {
    // Outside the checkout on purpose: the notebook must find tokenlab's packages from anywhere.
    const dir = mkdtempSync(join(tmpdir(), "tokenlab-demo-"));
    try {
      const { code, output } = await runDemo(dir);
      assert.equal(code, 0, output);
      const notebookPath = printedPath(output, "notebook");
      const htmlPath = printedPath(output, "HTML report");
      assert.equal(notebookPath, join(dir, "01-quickstart.ipynb"));
      assert.equal(htmlPath, join(dir, "01-quickstart.html"));
      assert.ok(existsSync(htmlPath), htmlPath);

      // The chart the fresh run produced (read from the executed notebook) must be in the page, drawn by plotly.
      const notebook = JSON.parse(readFileSync(notebookPath, "utf8")) as {
        cells: { cell_type: string; source: string[] | string; outputs?: { data?: Record<string, unknown> }[] }[];
      };
      const charts = notebook.cells.flatMap((cell) => cell.outputs ?? []).flatMap((out) => (out.data?.[PLOTLY_MIME] ? [out.data[PLOTLY_MIME]] : []));
      assert.equal(charts.length, 1, "the quickstart shows one training chart");
      const chartTitle = (charts[0] as { layout: { title: { text: string } } }).layout.title.text;
      const heading = [notebook.cells[0].source].flat().join("").split("\n")[0].replace(/^#\s*/, "");

      const html = readFileSync(htmlPath, "utf8");
      assert.match(html, /Plotly\.newPlot/);
      assert.ok(html.includes(chartTitle), `chart title "${chartTitle}" missing from the HTML`);
      assert.ok(html.includes(heading), `quickstart heading "${heading}" missing from the HTML`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
