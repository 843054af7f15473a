import type { Browser, Page } from "playwright-core";

export interface OfflinePage {
  page: Page;
  /** console errors and uncaught exceptions */
  errors: string[];
  /** http(s) requests other than the nbconvert template's own require.js / MathJax */
  unexpectedRequests: string[];
  close(): Promise<void>;
}

/** The two scripts nbconvert's template links (from a CDN, or in Debian from libjs-requirejs / libjs-mathjax). */
const TEMPLATE_ASSET = /\/require(\.min)?\.js$|\/mathjax\//i;

/**
 * A page with no network: any http(s) request is aborted and recorded, so a chart that needs the
 * network fails the test. nbconvert's own two template scripts are not ours to test: over http they
 * get an empty answer, and when Debian's file:// copies are not installed that load error is ignored.
 */
export async function openOffline(browser: Browser, url: string): Promise<OfflinePage> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors: string[] = [];
  const unexpectedRequests: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && !TEMPLATE_ASSET.test(message.location().url)) errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.route(/^https?:/, (route) => {
    const requested = route.request().url();
    if (TEMPLATE_ASSET.test(new URL(requested).pathname)) return route.fulfill({ status: 200, contentType: "text/javascript", body: "" });
    unexpectedRequests.push(requested);
    return route.abort();
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, errors, unexpectedRequests, close: () => page.close() };
}

/** Waits until every tokenlab chart is drawn (or gave up), then reports each chart's data and drawn traces. */
export async function drawnCharts(page: Page): Promise<Array<{ traces: number; drawn: number; text: string }>> {
  await page.waitForFunction(
    () =>
      Array.from(document.querySelectorAll("div.tokenlab-plot")).every(
        (div) => div.classList.contains("js-plotly-plot") || (div.textContent ?? "").startsWith("Could not"),
      ),
    null,
    { timeout: 90_000, polling: 200 },
  );
  return page.evaluate(() =>
    Array.from(document.querySelectorAll("div.tokenlab-plot")).map((div) => ({
      traces: ((div as unknown as { data?: unknown[] }).data ?? []).length,
      drawn: div.querySelectorAll(".trace").length,
      text: div.classList.contains("js-plotly-plot") ? "" : (div.textContent ?? ""),
    })),
  );
}
