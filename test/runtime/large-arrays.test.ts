import * as assert from "node:assert/strict";
import { appendAll, maxOf, minOf } from "../../lib/runtime/large-arrays";
import { packExamples } from "../../lib/data/pack";

/** A vocabulary-sized array: past the argument count at which `Math.max(...values)` overflows the stack. */
const SIZE = 500_000;

describe("large-array helpers", () => {
  const values = Float32Array.from({ length: SIZE }, (_, i) => Math.sin(i) * (i % 1000));

  it("the spread forms they replace overflow the stack at this size", () => {
    assert.throws(() => Math.max(...values), RangeError);
    assert.throws(() => [].push(...(Array.from(values) as never[])), RangeError);
  });

  it("maxOf and minOf agree with a reduce over 500k values", () => {
    assert.equal(maxOf(values), values.reduce((a, b) => (b > a ? b : a), -Infinity));
    assert.equal(minOf(values), values.reduce((a, b) => (b < a ? b : a), Infinity));
  });

  it("keep Math.max/min's answers for empty arrays and NaN", () => {
    assert.equal(maxOf([]), -Infinity);
    assert.equal(minOf([]), Infinity);
    assert.ok(Number.isNaN(maxOf([1, NaN, 3])));
    assert.ok(Number.isNaN(minOf([1, NaN, 3])));
  });

  it("appendAll appends 500k items in order and returns the target", () => {
    const target = [-1];
    assert.equal(appendAll(target, values), target);
    assert.equal(target.length, SIZE + 1);
    assert.equal(target[0], -1);
    assert.equal(target[SIZE], values[SIZE - 1]);
  });

  it("packExamples packs an example of 500k tokens", () => {
    const ids = Array.from({ length: SIZE }, (_, i) => i % 1000);
    const rows = packExamples([{ ids, lossMask: ids.map(() => true) }], { seqLen: 1000 });
    assert.equal(rows.length, SIZE / 1000);
    assert.deepEqual(rows[7].inputIds.slice(0, 3), [0, 1, 2]);
  });
});
