import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { lineChart } from "../../lib/display/charts";
import { LIVE_FRAME } from "../../lib/display/live-frame";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { plotlyAsset } from "../../lib/display/plotly-asset";
import { runNbtest } from "../nbtest/run-nbtest";
import { chartTraceCountsInHtml, exportHtml, plotlyTraceCounts } from "./export-html";
import { drawnCharts, openOffline } from "./offline-page";

const ROOT = resolve(__dirname, "../..");
const NOTEBOOKS = join(ROOT, "notebooks");
const SCREENSHOT = join(ROOT, "docs/screenshot.png");
const projectNotebooks = readdirSync(NOTEBOOKS).filter((name) => name.endsWith(".ipynb")).sort();

describe("executed notebooks as HTML in headless Chromium", function () {
  this.timeout(300_000);
  let browser: Browser;
  let work: string;
  let fixture: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tokenlab-browser-"));
    fixture = join(work, "displays.ipynb");
    copyFileSync(join(__dirname, "fixtures/displays.ipynb"), fixture);
    const executed = await runNbtest(["--update", fixture], work);
    assert.equal(executed.code, 0, executed.output);
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });

  after(async () => {
    await browser?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function checkNotebook(notebookPath: string, screenshotPath?: string): Promise<void> {
    const plotlyOutputs = plotlyTraceCounts(JSON.parse(readFileSync(notebookPath, "utf8")));
    const html = exportHtml(notebookPath, work);
    const text = readFileSync(html, "utf8");
    const expected = chartTraceCountsInHtml(text);
    assert.equal(text.split(`<div class="tokenlab-plot"`).length - 1, expected.length, "every chart div has its figure");
    assert.ok(expected.length >= plotlyOutputs.length, "nbconvert rendered the text/html of every plotly output");
    const { page, errors, unexpectedRequests, close } = await openOffline(browser, `file://${html}`);
    try {
      const charts = await drawnCharts(page);
      assert.deepEqual(charts.map((chart) => chart.traces), expected, "each chart holds its figure's traces");
      charts.forEach((chart, i) => assert.ok(chart.drawn >= chart.traces, `chart ${i} drew ${chart.drawn} of ${chart.traces} traces ${chart.text}`));
      assert.deepEqual(errors, [], "no console errors");
      assert.deepEqual(unexpectedRequests, [], "nothing loaded from the network");
      if (screenshotPath && expected.length > 0) {
        await page.locator("div.tokenlab-plot").first().scrollIntoViewIfNeeded();
        await page.evaluate(() => window.scrollBy(0, -120));
        await page.screenshot({ path: screenshotPath });
      }
    } finally {
      await close();
    }
  }

  it("draws every chart of tokenlab's display fixture: line, bar, scatter, twins, a live chart's final frame", async () => {
    const counts = plotlyTraceCounts(JSON.parse(readFileSync(fixture, "utf8")));
    assert.deepEqual(counts, [3, 1, 2, 1, 1, 2], "the fixture produced the expected figures");
    // docs/screenshot.png is rewritten only on request, so a test run leaves the checkout clean.
    const wantScreenshot = process.env.TOKENLAB_SCREENSHOT === "1" && screenshotNotebook() === undefined;
    await checkNotebook(fixture, wantScreenshot ? SCREENSHOT : join(work, "fixture.png"));
  });

  it("carries plotly.js in the session's first chart output only; that one renders alone, later ones with it anywhere on the page", async () => {
    const notebook = JSON.parse(readFileSync(fixture, "utf8"));
    const outputs: string[] = notebook.cells.flatMap((cell: { outputs?: Array<{ data?: Record<string, string[]> }> }) =>
      (cell.outputs ?? []).filter((o) => o.data?.["application/vnd.plotly.v1+json"]).map((o) => (o.data?.["text/html"] ?? []).join("")),
    );
    assert.equal(outputs.length, 6);
    assert.deepEqual(outputs.map((html) => html.includes("data-tokenlab-plotly=")), [true, false, false, false, false, false]);
    const oneCopy = plotlyAsset().gzipBase64.length;
    assert.ok(statSync(fixture).size < oneCopy + 200_000, `six charts take ${statSync(fixture).size} bytes, one plotly.js is ${oneCopy}`);
    // the first output alone; the live chart's final frame placed *before* the output that brings plotly.js
    for (const [name, fragments, charts] of [["first", [outputs[0]], 1], ["later-first", [outputs[5], outputs[0]], 2]] as const) {
      const page = join(work, `single-${name}.html`);
      writeFileSync(page, `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>${fragments.join("")}</body></html>`);
      const offline = await openOffline(browser, `file://${page}`);
      try {
        const drawn = await drawnCharts(offline.page);
        assert.equal(drawn.length, charts);
        drawn.forEach((chart, i) => assert.ok(chart.drawn >= chart.traces && chart.traces > 0, `${name} ${i} drew ${chart.drawn}/${chart.traces} ${chart.text}`));
        assert.deepEqual(offline.errors, []);
      } finally {
        await offline.close();
      }
    }
  });

  it("draws a live chart's light frames with the plotly.js its first frame brought, and says it waits when there is none", async () => {
    const first = lineChart([{ name: "loss", y: [3, 2] }])[JUPYTER_DISPLAY]()["text/html"] as string;
    const later = lineChart([{ name: "loss", y: [3, 2, 1.5] }, { name: "eval", y: [3.1, 2.2, 1.9] }])[LIVE_FRAME]()["text/html"] as string;
    const both = join(work, "live-frames.html");
    writeFileSync(both, `<!DOCTYPE html><html><body>${first}${later}</body></html>`);
    const lone = join(work, "lone-frame.html");
    writeFileSync(lone, `<!DOCTYPE html><html><body>${later}</body></html>`);
    const withLibrary = await openOffline(browser, `file://${both}`);
    try {
      const charts = await drawnCharts(withLibrary.page);
      assert.deepEqual(charts.map((chart) => [chart.traces, chart.drawn >= chart.traces]), [[1, true], [2, true]]);
      assert.deepEqual(withLibrary.errors, []);
    } finally {
      await withLibrary.close();
    }
    const alone = await openOffline(browser, `file://${lone}`);
    try {
      const text = await alone.page.locator("div.tokenlab-plot").textContent();
      assert.match(text ?? "", /waiting for plotly\.js/);
      assert.deepEqual(alone.errors, []);
    } finally {
      await alone.close();
    }
  });

  it("keeps the progress bar's label readable under the classic Notebook UI's Bootstrap `.label` rule", async () => {
    const html = exportHtml(fixture, work);
    const { page, close } = await openOffline(browser, `file://${html}`);
    try {
      // Debian's nbconvert has no Bootstrap; this is the classic UI's rule that hid the label (white text, no background).
      await page.addStyleTag({ content: CLASSIC_UI_LABEL_RULE });
      const label = page.locator(".tokenlab-progress > span");
      assert.equal(await label.textContent(), "training new-token rows");
      const { color, background } = await label.evaluate((element) => {
        let node: Element | null = element;
        let background = "rgba(0, 0, 0, 0)";
        while (node && /rgba\(.*, 0\)$|^transparent$/.test(background)) {
          background = getComputedStyle(node).backgroundColor;
          node = node.parentElement;
        }
        return { color: getComputedStyle(element).color, background: /rgba\(.*, 0\)$/.test(background) ? "rgb(255, 255, 255)" : background };
      });
      const ratio = contrastRatio(color, background);
      assert.ok(ratio >= 4.5, `label ${color} on ${background}: contrast ${ratio.toFixed(2)} < 4.5 (WCAG AA)`);
      const unscoped = await page.evaluate(() =>
        Array.from(document.querySelectorAll(".jp-OutputArea-output [class]"))
          .filter((element) => !element.closest(".js-plotly-plot") && element.closest("[class*='tokenlab-']"))
          .flatMap((element) => Array.from(element.classList))
          .filter((name) => !name.startsWith("tokenlab-")),
      );
      assert.deepEqual(unscoped, [], "every class inside tokenlab's outputs is prefixed");
    } finally {
      await close();
    }
  });

  for (const name of projectNotebooks) {
    it(`notebooks/${name}: every plotly chart drew its traces, no console errors`, async () => {
      const isScreenshotSource = process.env.TOKENLAB_SCREENSHOT === "1" && name === screenshotNotebook();
      await checkNotebook(join(NOTEBOOKS, name), isScreenshotSource ? SCREENSHOT : undefined);
      const size = statSync(join(NOTEBOOKS, name)).size;
      assert.ok(size < 2_500_000, `${name} is ${size} bytes; plotly.js ships once, so under 2.5 MB with all its charts`);
    });
  }
});

/** Bootstrap 3's `.label` as the classic Notebook UI loads it: white text, meant for a coloured badge. */
const CLASSIC_UI_LABEL_RULE = ".label { display: inline; padding: .2em .6em .3em; font-size: 75%; font-weight: 700; color: #fff; }";

/** WCAG 2 contrast ratio of two computed `rgb(…)` colours. */
function contrastRatio(foreground: string, background: string): number {
  const luminance = (css: string): number => {
    const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [light, dark] = [luminance(foreground), luminance(background)].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}

/** The README's picture (TOKENLAB_SCREENSHOT=1 rewrites docs/screenshot.png): the first project notebook with a chart, else the fixture. */
function screenshotNotebook(): string | undefined {
  return projectNotebooks.find((name) => plotlyTraceCounts(JSON.parse(readFileSync(join(NOTEBOOKS, name), "utf8"))).length > 0);
}
