import assert from "node:assert/strict";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { ProgressBar } from "../../lib/display/progress-bar";

describe("ProgressBar", () => {
  function fakeClock(): { now: () => number; advance: (ms: number) => void } {
    let time = 1000;
    return { now: () => time, advance: (ms) => (time += ms) };
  }

  it("computes rate and ETA from the time so far", () => {
    const clock = fakeClock();
    const bar = new ProgressBar({ total: 100, label: "train", unit: "step", now: clock.now });
    assert.ok(Number.isNaN(bar.etaSeconds()), "unknown before the first step");
    clock.advance(10_000);
    bar.update(25, { loss: 2.345678 });
    assert.equal(bar.rate(), 2.5);
    assert.equal(bar.etaSeconds(), 30);
    assert.equal(bar.toString(), "train 25% |██████░░░░░░░░░░░░░░░░░░| 25/100 [00:10<00:30, 2.5 step/s] loss=2.346");
  });

  it("shows the same status in HTML with a <progress> element, escaped", () => {
    const clock = fakeClock();
    const bar = new ProgressBar({ total: 4, label: "<x>", now: clock.now });
    clock.advance(2000);
    const html = bar.advance(1).advance(1, { note: "a<b" })[JUPYTER_DISPLAY]()["text/html"] as string;
    assert.ok(html.includes('<progress value="2" max="4"'));
    assert.ok(html.includes("&lt;x&gt;") && html.includes("note=a&lt;b"));
    assert.ok(html.includes("[00:02&lt;00:02, 1 it/s]"));
  });

  it("clamps to [0, total] and formats hours", () => {
    const clock = fakeClock();
    const bar = new ProgressBar({ total: 10, now: clock.now });
    clock.advance(3_725_000);
    assert.equal(bar.update(99).completed, 10);
    assert.ok(bar.toString().startsWith("100% |████████████████████████| 10/10 [1:02:05<00:00,"));
  });

  it("rejects a total that is not a positive number", () => {
    assert.throws(() => new ProgressBar({ total: 0 }), { name: "DisplayError" });
  });
});
