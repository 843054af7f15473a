import assert from "node:assert/strict";
import { lineChart } from "../../lib/display/charts";
import { LiveDisplay } from "../../lib/display/live-display";
import { ProgressBar } from "../../lib/display/progress-bar";
import { installFakeHost, type DisplayCall } from "../fixtures/fake-notebook-host";

/** Runs `run` with a recording notebook host installed, and removes it afterwards. */
function withFakeHost(run: (calls: DisplayCall[]) => void): void {
  const fake = installFakeHost();
  try {
    run(fake.shown);
  } finally {
    fake.remove();
  }
}

describe("LiveDisplay", () => {
  let time = 0;
  const now = (): number => time;
  beforeEach(() => (time = 0));

  it("displays once, then updates the same display id, throttled by time", () => {
    withFakeHost((calls) => {
      const live = new LiveDisplay({ minIntervalMs: 1000, now });
      const bar = new ProgressBar({ total: 10, now });
      assert.equal(live.update(bar.update(1)), true, "the first update draws");
      time = 500;
      assert.equal(live.update(bar.update(2)), false, "too soon");
      time = 1000;
      assert.equal(live.update(bar.update(3)), true);
      assert.deepEqual(
        calls.map((call) => call.options),
        [
          { id: live.id, update: false },
          { id: live.id, update: true },
        ],
      );
      assert.match(calls[1].bundle["text/plain"] as string, /3\/10/);
    });
  });

  it("draws every K updates when asked, and flush shows a held-back value", () => {
    withFakeHost((calls) => {
      const live = new LiveDisplay({ minIntervalMs: 0, everyUpdates: 3, now });
      const bar = new ProgressBar({ total: 10, now });
      const drawn = [1, 2, 3, 4, 5].map((step) => live.update(bar.update(step)));
      assert.deepEqual(drawn, [true, false, false, true, false]);
      live.flush();
      live.flush();
      assert.deepEqual(
        calls.map((call) => /(\d+)\/10/.exec(call.bundle["text/plain"] as string)?.[1]),
        ["1", "4", "5"],
      );
      assert.ok(calls.every((call) => call.options?.id === live.id));
    });
  });

  it("sends plotly.js in the first and final frames only", () => {
    withFakeHost((calls) => {
      const live = new LiveDisplay({ minIntervalMs: 0, now });
      for (let step = 1; step <= 4; step++) live.update(lineChart([{ name: "loss", y: [...Array(step).keys()] }]));
      live.close();
      live.close();
      const embeds = calls.map((call) => (call.bundle["text/html"] as string).includes("data-tokenlab-plotly="));
      assert.deepEqual(embeds, [true, false, false, false, true]);
      assert.deepEqual(
        calls.map((call) => call.options?.update),
        [false, true, true, true, true],
      );
      assert.throws(() => live.update(lineChart([])), { name: "DisplayError", message: /closed/ });
    });
  });

  it("stays quiet without a notebook host, or prints text/plain when asked", () => {
    const printed: unknown[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => printed.push(...args);
    try {
      new LiveDisplay({ now }).update(new ProgressBar({ total: 2, label: "quiet", now }));
      new LiveDisplay({ now, console: true }).update(new ProgressBar({ total: 2, label: "loud", now }));
    } finally {
      console.log = original;
    }
    assert.equal(printed.length, 1);
    assert.match(String(printed[0]), /^loud 0%/);
  });
});
