import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { kernelInfoContent } from "../../kernel/handler/kernel-info";
import { runNbtest, runNode } from "./run-nbtest";

const FIXTURES = resolve(__dirname, "fixtures");
const BIN = resolve(__dirname, "../../bin/tokenlab.js");

function nbtest(...args: string[]): Promise<{ code: number; output: string }> {
  return runNbtest(args, FIXTURES);
}

describe("tokenlab nbtest, end to end with the tokenlab kernel", function () {
  this.timeout(180_000);

  it("passes notebooks whose saved outputs match, with skip / ignore-output / raises-exception tags and a live display", async () => {
    const { code, output } = await nbtest("--sanitize-with", "dates.cfg", "passes.ipynb", "raises.ipynb");
    assert.equal(code, 0, output);
    assert.match(output, /passes\.ipynb: 4 passed, 0 failed, 1 ran without comparing, 1 skipped/);
    assert.match(output, /raises\.ipynb: 2 passed, 0 failed/);
  });

  it("fails a mismatch with a diff and an unexpected error with its traceback, and runs the later cells", async () => {
    const { code, output } = await nbtest("mismatch.ipynb", "unexpected-error.ipynb");
    assert.equal(code, 1, output);
    assert.match(output, /mismatch\.ipynb: 1 passed, 1 failed/);
    assert.match(output, /stdout differs\n\s+--- saved\n\s+\+\+\+ fresh\n\s+- two plus two is 5\n\s+\+ two plus two is 4\n\s+ {2}done/);
    assert.match(output, /unexpected-error\.ipynb: 1 passed, 1 failed/);
    assert.match(output, /✗ cell 0 raised SyntaxError/);
  });

  it("needs the sanitizer for the timestamp cell, and --lax compares only nbval-check-output cells", async () => {
    const unsanitized = await nbtest("passes.ipynb");
    assert.equal(unsanitized.code, 1);
    assert.match(unsanitized.output, /✗ cell 3 outputs differ/);
    const lax = await nbtest("--lax", "mismatch.ipynb");
    assert.equal(lax.code, 0, lax.output);
    assert.match(lax.output, /0 passed, 0 failed, 2 ran without comparing/);
  });

  it("--lax still compares a cell tagged nbval-check-output and fails it on a mismatch", async () => {
    const { code, output } = await nbtest("--lax", "lax-check-output.ipynb");
    assert.equal(code, 1, output);
    assert.match(output, /lax-check-output\.ipynb: 0 passed, 1 failed, 1 ran without comparing/);
    assert.match(output, /✗ cell 0 outputs differ[\s\S]*- checked: 3\n\s+\+ checked: 2/);
    assert.doesNotMatch(output, /✗ cell 1/); // the untagged cell's mismatch does not count under --lax
  });

  it("like nbval, a raises-exception cell that raises nothing fails only because its saved error differs", async () => {
    const strict = await nbtest("raises-nothing.ipynb");
    assert.equal(strict.code, 1, strict.output);
    assert.match(strict.output, /raises-nothing\.ipynb: 1 passed, 1 failed/);
    assert.match(strict.output, /✗ cell 0 outputs differ\n[\s\S]*missing from the fresh run: ename, evalue; not in the saved notebook: stdout/);
    assert.match(strict.output, /- RangeError/);
    // Not compared (--lax, no nbval-check-output tag), nothing else is held against it.
    const lax = await nbtest("--lax", "raises-nothing.ipynb");
    assert.equal(lax.code, 0, lax.output);
    assert.match(lax.output, /raises-nothing\.ipynb: 0 passed, 0 failed, 2 ran without comparing/);
  });

  it("--update saves the fresh outputs so the notebook passes afterwards", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tokenlab-nbtest-"));
    try {
      const copy = join(dir, "mismatch.ipynb");
      copyFileSync(join(FIXTURES, "mismatch.ipynb"), copy);
      const updated = await nbtest("--update", copy);
      assert.equal(updated.code, 0, updated.output);
      assert.match(updated.output, /1 changed/);
      const saved = JSON.parse(readFileSync(copy, "utf8"));
      assert.deepEqual(saved.cells[1].outputs, [{ output_type: "stream", name: "stdout", text: ["two plus two is 4\n", "done\n"] }]);
      assert.deepEqual(saved.metadata.language_info, kernelInfoContent().language_info, "the kernel's language_info, as a frontend saves it");
      // Python's nbformat (what Jupyter itself reads with) validates the written file against the schema.
      execFileSync("/usr/bin/python3", ["-c", "import nbformat, sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))", copy]);
      const rerun = await nbtest(copy);
      assert.equal(rerun.code, 0, rerun.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports an unreadable notebook and one for another kernel, and still runs the rest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tokenlab-nbtest-"));
    try {
      writeFileSync(join(dir, "broken.ipynb"), "{");
      const python = JSON.parse(readFileSync(join(FIXTURES, "raises.ipynb"), "utf8"));
      python.metadata.kernelspec.name = "python3";
      writeFileSync(join(dir, "python.ipynb"), JSON.stringify(python));
      const { code, output } = await nbtest(join(dir, "broken.ipynb"), join(dir, "python.ipynb"), "raises.ipynb");
      assert.equal(code, 1, output);
      assert.match(output, /broken\.ipynb: could not run: Cannot read notebook/);
      assert.match(output, /python\.ipynb: could not run: it is a notebook for the "python3" kernel/);
      assert.match(output, /raises\.ipynb: 2 passed, 0 failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects unknown options and missing notebooks with exit code 2", async () => {
    assert.equal((await nbtest("--frobnicate", "passes.ipynb")).code, 2);
    const missing = await nbtest("no-such.ipynb");
    assert.equal(missing.code, 2);
    assert.match(missing.output, /no such notebook or folder: no-such\.ipynb/);
  });
});

describe("node bin/tokenlab.js nbtest (the installed command)", function () {
  this.timeout(180_000);

  const tokenlab = (...args: string[]) => runNode([BIN, ...args], FIXTURES);

  it("exits 0 for a passing notebook and 1 with the diff for a failing one", async () => {
    const passing = await tokenlab("nbtest", "raises.ipynb");
    assert.equal(passing.code, 0, passing.output);
    assert.match(passing.output, /raises\.ipynb: 2 passed, 0 failed/);
    const failing = await tokenlab("nbtest", "mismatch.ipynb");
    assert.equal(failing.code, 1, failing.output);
    assert.match(failing.output, /--- saved\n\s+\+\+\+ fresh\n\s+- two plus two is 5\n\s+\+ two plus two is 4/);
  });
});
