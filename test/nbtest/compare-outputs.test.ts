import assert from "node:assert/strict";
import { coalesceStreams, compareOutputs } from "../../kernel/nbtest/compare-outputs";
import type { Output } from "../../kernel/nbtest/notebook-file";
import { parseSanitizers } from "../../kernel/nbtest/sanitizers";

const stdout = (text: string | string[]): Output => ({ output_type: "stream", name: "stdout", text });
const stderr = (text: string): Output => ({ output_type: "stream", name: "stderr", text });
const display = (data: Record<string, unknown>, type: "display_data" | "execute_result" = "display_data"): Output => ({
  output_type: type,
  data,
  metadata: {},
  ...(type === "execute_result" ? { execution_count: 1 } : {}),
});

describe("compareOutputs (nbval's rules)", () => {
  it("merges streams however the kernel split them, and ignores their order relative to displays", () => {
    const saved = [stdout(["a\n", "b\n"]), display({ "text/plain": "x" })];
    const fresh = [stdout("a\n"), display({ "text/plain": "x" }), stdout("b\n")];
    assert.equal(compareOutputs(saved, fresh, []), undefined);
  });

  it("applies backspace and carriage return like a terminal when merging", () => {
    const [merged] = coalesceStreams([stdout("10%\r"), stdout("50%\r100%\n"), stdout("ab\bc\n")]);
    assert.deepEqual(merged, { output_type: "stream", name: "stdout", text: "100%\nac\n" });
  });

  it("ignores ANSI colour codes in streams, text and error values, but not the text they colour", () => {
    const error = (evalue: string): Output => ({ output_type: "error", ename: "RangeError", evalue, traceback: [] });
    const saved = [stderr("\x1b[1;31mwarning\x1b[0m: slow\n"), display({ "text/plain": "\x1b[32mok\x1b[0m" }), error("no")];
    const fresh = [stderr("warning: slow\n"), display({ "text/plain": "ok" }), error("\x1b[1mno\x1b[0m")];
    assert.equal(compareOutputs(saved, fresh, []), undefined);
    assert.equal(compareOutputs(saved, [stderr("warning: fast\n"), display({ "text/plain": "ok" }), error("no")], [])?.key, "stderr");
  });

  it("reports a changed stream with a unified diff of saved against fresh", () => {
    const mismatch = compareOutputs([stdout("loss 2.5\nstep 10\n")], [stdout("loss 2.4\nstep 10\n")], []);
    assert.equal(mismatch?.key, "stdout");
    assert.equal(mismatch?.diff, "--- saved\n+++ fresh\n- loss 2.5\n+ loss 2.4\n  step 10\n  ");
  });

  it("compares text mime types after sanitizing, and JSON mime types as data", () => {
    const sanitizers = parseSanitizers("regex: took \\d+ ms\nreplace: took N ms\n");
    const saved = [display({ "text/plain": "took 12 ms", "application/vnd.plotly.v1+json": { data: [{ y: [1, 2] }] } })];
    const fresh = [display({ "text/plain": "took 873 ms", "application/vnd.plotly.v1+json": { data: [{ y: [1, 2] }] } })];
    assert.equal(compareOutputs(saved, fresh, sanitizers), undefined);
    assert.notEqual(compareOutputs(saved, fresh, []), undefined, "without the sanitizer the times differ");
    const otherData = [display({ "text/plain": "took 12 ms", "application/vnd.plotly.v1+json": { data: [{ y: [1, 3] }] } })];
    assert.equal(compareOutputs(saved, otherData, sanitizers)?.key, "application/vnd.plotly.v1+json");
  });

  it("skips images, widget views, metadata and execution counts", () => {
    const saved = [{ ...display({ "text/plain": "fig", "image/png": "AAAA", "image/jpeg": "BBBB" }, "execute_result"), execution_count: 3 }];
    const fresh = [{ ...display({ "text/plain": "fig", "image/png": "CCCC", "application/vnd.jupyter.widget-view+json": { model_id: "m" } }, "execute_result"), execution_count: 9, metadata: { w: 1 } }] as Output[];
    assert.equal(compareOutputs(saved, fresh, []), undefined);
  });

  it("fails on a mime type or stream present on one side only, naming it", () => {
    const missing = compareOutputs([stdout("x\n"), stderr("warn\n")], [stdout("x\n")], []);
    assert.equal(missing?.key, "stderr");
    assert.match(missing?.message ?? "", /missing from the fresh run: stderr/);
    const extra = compareOutputs([display({ "text/plain": "t" })], [display({ "text/plain": "t", "text/html": "<b>t</b>" })], []);
    assert.match(extra?.message ?? "", /not in the saved notebook: text\/html/);
  });

  it("fails when the number of outputs of one kind differs", () => {
    const mismatch = compareOutputs([display({ "text/plain": "a" })], [display({ "text/plain": "a" }), display({ "text/plain": "b" })], []);
    assert.equal(mismatch?.message, "1 saved text/plain output(s) but 2 fresh");
  });

  it("compares errors by name and value, not traceback", () => {
    const error = (evalue: string, traceback: string[]): Output => ({ output_type: "error", ename: "RangeError", evalue, traceback });
    assert.equal(compareOutputs([error("bad", ["at a"])], [error("bad", ["at b"])], []), undefined);
    assert.equal(compareOutputs([error("bad", [])], [error("worse", [])], [])?.key, "evalue");
  });
});
