import assert from "node:assert/strict";
import { unifiedDiff } from "../../kernel/nbtest/text-diff";

describe("unifiedDiff", () => {
  it("shows changed lines with two lines of context and elides the rest", () => {
    const saved = ["a", "b", "c", "d", "e", "f", "g", "h"].join("\n");
    const fresh = ["a", "b", "c", "d", "E", "f", "g", "h", "i"].join("\n");
    assert.equal(unifiedDiff(saved, fresh), ["--- saved", "+++ fresh", "@@ … @@", "  c", "  d", "- e", "+ E", "  f", "  g", "  h", "+ i"].join("\n"));
  });

  it("finds inserted and removed lines, not just a replaced block", () => {
    assert.equal(unifiedDiff("x\ny\nz", "x\nnew\ny"), ["--- saved", "+++ fresh", "  x", "+ new", "  y", "- z"].join("\n"));
  });

  it("cuts megabyte lines to a window around their first difference", () => {
    const long = "A".repeat(100_000);
    const diff = unifiedDiff(`${long}1${long}`, `${long}2${long}`, { maxLineLength: 60 });
    const [, , removed, added] = diff.split("\n");
    assert.ok(removed.length < 120 && added.length < 120, diff);
    assert.ok(removed.includes("A1A") && added.includes("A2A"), "the window shows the difference");
    assert.match(removed, /^- …\[\d+ chars\]A+1A+…\[\d+ more\]$/);
  });
});
