import assert from "node:assert/strict";
import type { StepRecord } from "../../lib/train/run-records";
import { trainingChart } from "../../lib/train/training-chart";
import { pythonPlotlyErrors } from "../display/plotly-validation";

function history(lr: (step: number) => number, gradNorm: (step: number) => number, groups: string[]): StepRecord[] {
  return Array.from({ length: 20 }, (_, i) => ({
    step: i + 1,
    loss: 3 - i / 10,
    newTokenLoss: 5 - i / 5,
    otherLoss: 2.9,
    lr: lr(i),
    gradNorm: gradNorm(i),
    gradNorms: Object.fromEntries(groups.map((g, k) => [g, gradNorm(i) * (k + 1)])),
    seconds: i,
  }));
}

const axis = (figure: ReturnType<typeof trainingChart>, name: string) => figure.layout[name] as Record<string, unknown>;

describe("trainingChart", () => {
  it("gives every line its own colour, grad-norm groups included (plotly's index colour made the first group purple like the lr)", () => {
    const groups = ["new-rows", "embeddings", "block.0", "block.1", "head"];
    const figure = trainingChart(history(() => 1e-3, () => 0.5, groups), [{ step: 10, loss: 2, newTokenLoss: 3, otherLoss: 2 }], []);
    const colours = figure.data.map((trace) => (trace.line as { color?: string } | undefined)?.color);
    assert.equal(colours.length, 4 + groups.length + 1);
    assert.ok(colours.every((c) => typeof c === "string"), `every trace has an explicit colour: ${colours.join(", ")}`);
    assert.equal(new Set(colours).size, colours.length, colours.join(", "));
    assert.equal(pythonPlotlyErrors(figure.toJSON()), "");
  });

  it("centres a constant learning rate on its axis instead of plotly's −0.5…1", () => {
    const figure = trainingChart(history(() => 3e-4, () => 0.5, ["new-rows"]), [], []);
    const [low, high] = axis(figure, "yaxis3").range as [number, number];
    assert.ok(low > 0 && low < 3e-4 && high > 3e-4 && high < 1e-3, `range ${low}…${high}`);
    assert.ok(Math.abs((low + high) / 2 - 3e-4) < 1e-12, "the value sits in the middle");
    const scheduled = trainingChart(history((i) => 1e-3 * Math.min(1, (i + 1) / 5), () => 0.5, ["new-rows"]), [], []);
    assert.equal(axis(scheduled, "yaxis3").range, undefined, "a schedule keeps plotly's autorange");
    assert.equal(axis(scheduled, "yaxis3").rangemode, "tozero");
    assert.equal(pythonPlotlyErrors(figure.toJSON()), "");
  });

  it("labels the log grad-norm axis with whole numbers, or one power of ten per label over many decades", () => {
    const narrow = axis(trainingChart(history(() => 1e-3, (i) => 0.2 + i / 50, ["new-rows"]), [], []), "yaxis2");
    assert.equal(narrow.type, "log");
    assert.equal(narrow.tickformat, ".2~g");
    const wide = axis(trainingChart(history(() => 1e-3, (i) => 10 ** (-i / 4), ["new-rows"]), [], []), "yaxis2");
    assert.deepEqual([wide.type, wide.dtick, wide.exponentformat], ["log", 1, "power"]);
  });
});
