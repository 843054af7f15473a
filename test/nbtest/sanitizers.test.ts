import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { lineChart } from "../../lib/display/charts";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { parseSanitizers, sanitize } from "../../kernel/nbtest/sanitizers";

describe("sanitizers (nbval's --sanitize-with format)", () => {
  it("reads regex:/replace: line pairs, ignoring sections and stray lines", () => {
    const sanitizers = parseSanitizers("[Dates]\nregex: \\d{4}-\\d\\d-\\d\\d\nreplace: DATE\n\n# note\nregex: lonely\n\nregex: 0x[0-9a-f]+\nreplace: ADDR\n");
    assert.equal(sanitizers.length, 2);
    assert.equal(sanitize("on 2024-05-01 at 0xdeadbeef and 2023-01-02", sanitizers), "on DATE at ADDR and DATE");
  });

  it("translates Python group syntax and keeps a literal $", () => {
    const [byNumber, byName] = parseSanitizers(
      "regex: (Figure size )\\d+x\\d+( with)\nreplace: \\1WxH\\2 $\nregex: (?P<word>step) \\d+\nreplace: \\g<word> N\n",
    );
    assert.equal(sanitize("Figure size 640x480 with", [byNumber]), "Figure size WxH with $");
    assert.equal(sanitize("step 12, step 13", [byName]), "step N, step N");
  });

  it("leaves non-strings alone and reports a bad regex with its source", () => {
    assert.deepEqual(sanitize({ a: 1 }, parseSanitizers("regex: a\nreplace: b\n")), { a: 1 });
    assert.throws(() => parseSanitizers("regex: (unclosed\nreplace: x\n", "my.cfg"), { name: "NbtestError", message: /my\.cfg/ });
  });

  it("the built-in file hides only the embedded plotly.js of a figure", () => {
    const builtin = parseSanitizers(readFileSync(resolve(__dirname, "../../kernel/nbtest/builtin-sanitizers.cfg"), "utf8"));
    const html = lineChart([{ name: "loss", y: [1, 2] }])[JUPYTER_DISPLAY]()["text/html"] as string;
    const cleaned = sanitize(html, builtin);
    assert.ok(cleaned.length < 5000, "the megabytes of library are gone");
    assert.match(cleaned, /<script type="text\/plain" data-tokenlab-once="plotly\.js" data-tokenlab-plotly="[\d.]+">PLOTLY_JS<\/script>/);
    assert.equal(cleaned.slice(cleaned.indexOf("<div")), html.slice(html.indexOf("<div")), "the chart itself is still compared");
  });
});
