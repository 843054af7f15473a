import { createHash } from "node:crypto";
import { escapeHtml, jsonForScript } from "./html-escape";
import { plotlyAsset } from "./plotly-asset";

export interface PlotlySpec {
  data: unknown[];
  layout: Record<string, unknown>;
  config: Record<string, unknown>;
}

/**
 * The `text/html` of a figure. With `embedLibrary` the output carries plotly.js (gzip+base64, in a
 * non-executing `<script type="text/plain">`) and so renders on its own — offline, in exported HTML.
 * The script is marked `data-tokenlab-once`: the tokenlab kernel keeps it in the first output of a
 * session and strips it from later ones. Each output inflates the library only if no earlier output
 * already did (`window.Plotly`); an output without it (a later chart, a live chart's intermediate
 * frame) uses the copy the page has, waiting for it if that output comes later in the page.
 *
 * Until the script runs the div shows the title and a hint: an untrusted notebook runs no scripts.
 *
 * The chart's div is found by a content hash rather than a counter, so the same figure gives the
 * same HTML in every run (notebook tests compare it); two identical figures on a page each claim
 * one undrawn div with that hash.
 */
export function plotlyHtml(spec: PlotlySpec, options: { embedLibrary: boolean; title: string }): string {
  const json = JSON.stringify(spec);
  const hash = createHash("sha256").update(json).digest("hex").slice(0, 16);
  const height = typeof spec.layout.height === "number" ? spec.layout.height : 450;
  const library = options.embedLibrary
    ? `<script type="text/plain" data-tokenlab-once="plotly.js" data-tokenlab-plotly="${plotlyAsset().version}">${plotlyAsset().gzipBase64}</script>\n`
    : "";
  return (
    library +
    `<div class="tokenlab-plot" data-tokenlab-plot="${hash}" style="width:100%;height:${height}px">` +
    `<b>${escapeHtml(options.title)}</b> <small class="tokenlab-plot-hint">${UNTRUSTED_HINT}</small></div>\n` +
    `<script type="text/javascript">\n(${DRAW_WHEN_LOADED})(${jsonForScript(hash)}, ${jsonForScript(spec)});\n</script>`
  );
}

/**
 * A large asset that every output could carry but one page needs once (plotly.js, ~2 MB), marked
 * `<script type="text/plain" data-tokenlab-once="KEY" …>…</script>` in `text/html`. The kernel keeps
 * one per session (kernel/display/session-assets.ts); a page assembled from several outputs keeps
 * the first of each (keepFirstOnceAssets).
 */
export const ONCE_ASSET = /<script type="text\/plain" data-tokenlab-once="([^"]+)"[^>]*>[^<]*<\/script>\n?/g;

/** `html` with only the first copy of each once-asset: the first copy loads it for the whole page. */
export function keepFirstOnceAssets(html: string): string {
  const seen = new Set<string>();
  return html.replace(ONCE_ASSET, (asset, key: string) => (seen.has(key) ? "" : (seen.add(key), asset)));
}

const UNTRUSTED_HINT = "(chart not drawn: trust this notebook to draw the chart — File ▸ Trust Notebook — or run the cell)";

/*
 * Runs in the browser. Kept as plain JavaScript text (not a serialized TS function) so no compiler
 * helper can sneak into it; ES2020 and DecompressionStream, i.e. every current browser.
 */
const DRAW_WHEN_LOADED = `function (hash, spec) {
  var div = Array.from(document.querySelectorAll('div[data-tokenlab-plot="' + hash + '"]'))
    .find(function (candidate) { return !candidate.hasAttribute("data-claimed"); });
  if (!div) return;
  div.setAttribute("data-claimed", "");
  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (window.tokenlabPlotlyLoading) return window.tokenlabPlotlyLoading;
    var embedded = document.querySelector("script[data-tokenlab-plotly]");
    if (!embedded) return null;
    var bytes = Uint8Array.from(atob(embedded.textContent.trim()), function (c) { return c.charCodeAt(0); });
    var inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    window.tokenlabPlotlyLoading = new Response(inflated).text().then(function (code) {
      window.PlotlyConfig = window.PlotlyConfig || { MathJaxConfig: "local" }; // leave the page's MathJax alone
      var script = document.createElement("script");
      script.text = code;
      document.head.appendChild(script);
      if (!window.Plotly) throw new Error("plotly.js did not define window.Plotly");
      return window.Plotly;
    });
    return window.tokenlabPlotlyLoading;
  }
  var hint = div.querySelector(".tokenlab-plot-hint");
  function draw(loading) {
    loading.then(function (Plotly) {
      div.textContent = "";
      return Plotly.newPlot(div, spec.data, spec.layout, spec.config);
    }).catch(function (error) {
      div.textContent = "Could not draw the chart: " + error;
      console.error(error);
    });
  }
  var loading = loadPlotly();
  if (loading) return draw(loading);
  // plotly.js comes with another output: the session's first chart (maybe further down the page),
  // or this live chart's final frame.
  if (hint) hint.textContent = "(waiting for plotly.js: it comes with the first chart of the kernel session, or a live chart's final frame)";
  var tries = 0;
  var timer = setInterval(function () {
    var later = loadPlotly();
    if (later) draw(later);
    if (later || ++tries > 600 || !div.isConnected) clearInterval(timer);
  }, 100);
}`;
