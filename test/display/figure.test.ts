import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { Script } from "node:vm";
import { barChart, lineChart, scatterChart } from "../../lib/display/charts";
import { Figure, PLOTLY_MIME } from "../../lib/display/figure";
import { LIVE_FRAME } from "../../lib/display/live-frame";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { pythonPlotlyErrors } from "./plotly-validation";

/** The JSON argument the inline script passes to the drawing function, parsed back. */
function specInHtml(html: string): unknown {
  const match = /\}\)\("[0-9a-f]{16}", (.*)\);\n<\/script>$/s.exec(html);
  assert.ok(match, "the html ends with the drawing call");
  return JSON.parse(match[1]);
}

describe("Figure", () => {
  const figure = lineChart(
    [
      { name: "new-token loss", x: [0, 10, 20], y: new Float32Array([4, 3, 2.5]) },
      { name: "eval loss", x: [0, 20], y: [4.5, Number.NaN] },
    ],
    { title: "Training", xTitle: "step", yTitle: "loss", logY: true },
  );
  const bundle = figure[JUPYTER_DISPLAY]();

  it("puts {data, layout, config} as plain JSON under the plotly mime type", () => {
    const spec = bundle[PLOTLY_MIME] as { data: Array<{ y: unknown }>; layout: object; config: object };
    assert.deepEqual(Object.keys(spec).sort(), ["config", "data", "layout"]);
    assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec, "survives a JSON round trip unchanged");
    assert.deepEqual(spec.data[0].y, [4, 3, 2.5], "typed arrays become arrays");
    assert.deepEqual(spec.data[1].y, [4.5, null], "NaN becomes null (a gap)");
  });

  it("produces figures the Python plotly package accepts", () => {
    const bar = barChart(["a", "b"], [{ name: "x", values: [1, 2] }], { title: "bars" });
    const scatter = scatterChart([{ name: "tokens", x: [0, 1], y: [1, 0], text: ["<sep>", "-"] }]);
    for (const fig of [figure, bar, scatter]) {
      assert.equal(pythonPlotlyErrors(fig[JUPYTER_DISPLAY]()[PLOTLY_MIME] as { data: unknown[]; layout: unknown }), "");
    }
    assert.notEqual(pythonPlotlyErrors({ data: [{ type: "scatter", yy: [1] }], layout: {} }), "", "the validator rejects bad input");
  });

  it("summarizes each trace in text/plain with its last point", () => {
    assert.equal(
      bundle["text/plain"],
      'Figure "Training": 2 traces\n  new-token loss (scatter): 3 points, last 20 → 2.5\n  eval loss (scatter): 2 points, last 20 → NaN',
    );
  });

  it("embeds the whole plotly.js, gzipped, in text/html", () => {
    const html = bundle["text/html"] as string;
    const embedded = /<script type="text\/plain" data-tokenlab-once="plotly\.js" data-tokenlab-plotly="3\.[0-9.]+">([A-Za-z0-9+/=]+)<\/script>/.exec(html);
    assert.ok(embedded, "the library is embedded");
    const code = gunzipSync(Buffer.from(embedded[1], "base64")).toString("utf8");
    assert.ok(code.length > 3_000_000, `minified plotly.js is several MB (got ${code.length})`);
    assert.ok(code.includes("window.Plotly"), "it defines window.Plotly");
    assert.doesNotThrow(() => new Script(code), "it is valid JavaScript");
    assert.ok(!/https?:\/\/cdn/.test(html.replace(embedded[1], "")), "nothing loads from a CDN");
    assert.deepEqual(specInHtml(html), bundle[PLOTLY_MIME]);
  });

  it("shows the title and a trust hint in the chart's div until the script replaces them", () => {
    const html = bundle["text/html"] as string;
    const div = /<div class="tokenlab-plot"[^>]*>(.*?)<\/div>/.exec(html);
    assert.ok(div, html.slice(-2000));
    assert.match(div[1], /<b>Training<\/b>/);
    assert.match(div[1], /trust this notebook to draw the chart/);
  });

  it("leaves plotly.js out of live frames but keeps the same chart", () => {
    const frame = figure[LIVE_FRAME]();
    assert.ok(!(frame["text/html"] as string).includes("data-tokenlab-plotly="));
    assert.deepEqual(specInHtml(frame["text/html"] as string), bundle[PLOTLY_MIME]);
    assert.deepEqual(frame[PLOTLY_MIME], bundle[PLOTLY_MIME]);
  });

  it("gives the same HTML for the same figure (notebook tests compare it)", () => {
    const again = lineChart(
      [
        { name: "new-token loss", x: [0, 10, 20], y: [4, 3, 2.5] },
        { name: "eval loss", x: [0, 20], y: [4.5, Number.NaN] },
      ],
      { title: "Training", xTitle: "step", yTitle: "loss", logY: true },
    );
    assert.equal(again[LIVE_FRAME]()["text/html"], figure[LIVE_FRAME]()["text/html"]);
  });

  it("cannot be broken out of by trace names or titles", () => {
    const evil = "</script><script>alert(1)</script><!--";
    const html = new Figure({ data: [{ type: "scatter", name: evil, y: [1] }], layout: { title: evil } })[LIVE_FRAME]()[
      "text/html"
    ] as string;
    assert.ok(!html.includes("<script>alert"), "no injected script element");
    assert.equal(html.match(/<\/script>/g)?.length, 1, "only our own script closes");
    assert.ok(html.includes("&lt;/script&gt;&lt;script&gt;alert(1)"), "the title shows escaped");
    assert.equal((specInHtml(html) as { data: Array<{ name: string }> }).data[0].name, evil, "the name survives intact");
  });

  it("rejects series whose x and y lengths differ", () => {
    assert.throws(() => lineChart([{ name: "bad", x: [1, 2], y: [1] }]), { name: "DisplayError", message: /"bad" has 2 x values but 1 y values/ });
  });
});
