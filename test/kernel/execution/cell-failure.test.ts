import assert from "node:assert/strict";
import { stripAnsi } from "../../../kernel/execution/ansi";
import { CellExecutor, type CellOutcome } from "../../../kernel/execution/cell-executor";
import { InterruptError } from "../../../kernel/execution/interrupt-error";

const RED_BOLD = "\x1b[1;31m";

function failure(outcome: CellOutcome) {
  assert.equal(outcome.status, "error");
  return outcome.failure;
}

/** The 0-based column of the caret line's `^`, as a reader sees it. */
function caretColumn(traceback: string[], sourceLine: string): number {
  const plain = traceback.map(stripAnsi);
  const at = plain.findIndex((line) => line === `--> ${sourceLine}`);
  assert.ok(at >= 0, plain.join("\n"));
  return plain[at + 1].indexOf("^") - "--> ".length;
}

describe("cell failures: ANSI-coloured tracebacks with cell positions", function () {
  let executor: CellExecutor;
  const never = new Promise<never>(() => undefined);
  let count = 0;
  const run = (source: string) => executor.execute(source, `cell[${++count}]`, never);

  before(async function () {
    const unused = () => assert.fail("this test displays nothing");
    executor = new CellExecutor(process.cwd(), { display: unused, clearOutput: unused, input: unused });
    await run("const first = 1;\nconst second = 2;");
  });
  after(() => executor.close());

  it("puts the caret and the position at the error's column even after shorthand properties on the line", async function () {
    const line = "const pair = { first, second }; const label: string = first + second;";
    const { traceback, evalue } = failure(await run(line));
    const expected = line.indexOf("label");
    assert.equal(caretColumn(traceback, line), expected);
    assert.match(evalue, new RegExp(`^1:${expected + 1} Type 'number'`));
    assert.ok(stripAnsi(traceback[0]).startsWith(`cell[${count}]:1:${expected + 1} - error TS2322`), traceback[0]);
  });

  it("highlights the failing span inside the cell line, so wrapping the line cannot misplace it", async function () {
    const line = "  first, second, third: missingName };";
    const { traceback } = failure(await run(`const triple = {\n${line}`));
    assert.ok(traceback.some((entry) => entry.includes(`\x1b[1;41mmissingName\x1b[0m`)), traceback.join("\n"));
    assert.equal(caretColumn(traceback, line), line.indexOf("missingName"));
  });

  it("colours the error name bold red for compile errors, runtime errors and interrupts", async function () {
    const compile = failure(await run("const wrong: string = 1;"));
    assert.ok(compile.traceback.at(-1)?.startsWith(`${RED_BOLD}TypeScriptError\x1b[0m: 1:7`), compile.traceback.at(-1));
    const runtime = failure(await run("function boom(): never {\n  throw new RangeError('no');\n}\nboom();"));
    assert.equal(runtime.traceback[0], `${RED_BOLD}RangeError\x1b[0m: no`);
    const plain = runtime.traceback.map(stripAnsi);
    const frame = plain.findIndex((entry) => entry.includes(`(cell[${count}]:2)`));
    assert.ok(frame >= 0, plain.join("\n"));
    assert.equal(plain[frame + 1], "    --> throw new RangeError('no');");
    const interrupted = executor.failureOf(new InterruptError());
    assert.equal(interrupted.traceback[0], `${RED_BOLD}InterruptError\x1b[0m: Interrupted by the user`);
  });
});
