import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { evaluate } from "../../lib/analysis/evaluate";
import { parseExperiment } from "../../lib/experiment/experiment";
import { writeExperiment } from "../../lib/experiment/experiment-of-run";
import { runExperiment } from "../../lib/experiment/run-experiment";
import { loadModel, saveModel } from "../../lib/models/load-model";
import { addTokens } from "../../lib/tokens/add-tokens";
import { train } from "../../lib/train/train";
import { writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";

const BIN = path.resolve(__dirname, "../../bin/tokenlab.js");

// Gradual unfreezing opens a stage on each side of the interrupt, so a resume must rebuild the
// parameters and optimizers as well as restore their values.
const EXPERIMENT = `# a small headless run on the tiny test checkpoint
model: ckpt
tokens:
  add:
    - "<think>"
    - content: "</think>"
      special: true
      init: {describe: "end of thinking"}
  seed: 2
data:
  files: data.jsonl
  seqLen: 24
  evalFraction: 0.2
  seed: 1
train:
  strategy: gradual
  unfreeze: {every: 10}
  steps: 24
  batchSize: 4
  evalEvery: 4
  seed: 1
  displayEvery: 1
export: {checkpoint: trained}
`;

interface Reference {
  steps: unknown[];
  evals: unknown[];
  evaluation: unknown;
  modelBytes: Buffer;
}

/** What the JSON Lines hold: NaN as null, and no timing (it differs between any two runs). */
function comparable(records: readonly object[]): unknown[] {
  return records.map((record) => {
    const { seconds: _, ...rest } = JSON.parse(JSON.stringify(record)) as { seconds?: number };
    return rest;
  });
}

function readJsonLines(file: string): object[] {
  return fs.readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as object);
}

function tokenlabRun(args: string[], onStderr?: (text: string, kill: () => void) => void): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "run", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr, () => child.kill("SIGINT"));
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("tokenlab run (headless experiments)", function () {
  let dir: string;
  let reference: Reference;
  let yamlFile: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-run-"));
    writeTinyCheckpoint(path.join(dir, "ckpt"), { tied: false });
    const lines = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({
        messages: [
          { role: "user", content: `where is the fox ${i % 7}?` },
          { role: "assistant", content: `<think>the fox ${i % 5}</think> sat with the dog ${i % 3}.` },
        ],
      }),
    );
    fs.writeFileSync(path.join(dir, "data.jsonl"), lines.join("\n") + "\n");
    yamlFile = path.join(dir, "experiment.yaml");
    fs.writeFileSync(yamlFile, EXPERIMENT);

    // The same experiment the notebook way, in this process.
    const base = await loadModel(path.join(dir, "ckpt"));
    const added = addTokens(base, ["<think>", { content: "</think>", special: true, init: { describe: "end of thinking" } }], { seed: 2 });
    const run = train(added, path.join(dir, "data.jsonl"), {
      seqLen: 24,
      evalFraction: 0.2,
      seed: 1,
      strategy: "gradual",
      unfreeze: { every: 10 },
      steps: 24,
      batchSize: 4,
      evalEvery: 4,
    });
    const result = await run;
    assert.equal(result.status, "completed");
    await saveModel(result.model, path.join(dir, "reference-model"));
    reference = {
      steps: comparable(result.history),
      evals: comparable(result.evals),
      evaluation: JSON.parse(JSON.stringify(evaluate({ model: result.model, newIds: added.newIds }, run.setup.data).metrics)),
      modelBytes: fs.readFileSync(path.join(dir, "reference-model", "model.safetensors")),
    };
    // Kept for the round-trip test: the experiment file this notebook cell becomes.
    writeExperiment(run, path.join(dir, "from-notebook.yaml"));
    run.dispose();
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function assertSameAsReference(out: string): void {
    assert.deepEqual(comparable(readJsonLines(path.join(out, "steps.jsonl"))), reference.steps);
    assert.deepEqual(comparable(readJsonLines(path.join(out, "evals.jsonl"))), reference.evals);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, "evaluation.json"), "utf8")), reference.evaluation);
    assert.ok(fs.readFileSync(path.join(out, "model", "model.safetensors")).equals(reference.modelBytes), "the saved model differs from the in-process run's");
  }

  it("reproduces the in-process run's records, evaluation and weights exactly, and writes CSV and an HTML report", async () => {
    const { code, stderr } = await tokenlabRun([yamlFile]);
    assert.equal(code, 0, stderr);
    const out = path.join(dir, "experiment.run");
    assertSameAsReference(out);
    // stderr is not a TTY here: one plain progress line per step (displayEvery 1) with the ETA.
    assert.equal(stderr.match(/^step \d+: training .*\[\d\d:\d\d<\d\d:\d\d, /gm)?.length, 24, stderr);
    const csv = fs.readFileSync(path.join(out, "steps.csv"), "utf8").trim().split("\n");
    const header = csv[0].split(",");
    assert.deepEqual(header.slice(0, 6), ["step", "loss", "newTokenLoss", "otherLoss", "lr", "gradNorm"]);
    assert.ok(header.includes("gradNorm.block.1") && header.includes("gradNorm.embed.new"), header.join(","));
    const steps = reference.steps as Array<{ loss: number; gradNorms: Record<string, number> }>;
    csv.slice(1).forEach((line, i) => {
      const cells = line.split(",");
      assert.equal(Number(cells[1]), steps[i].loss);
      assert.equal(cells[header.indexOf("gradNorm.block.1")], i < 10 ? "" : String(steps[i].gradNorms["block.1"]));
    });
    // The optional export: exportRecipe's folder, its checkpoint the trained weights.
    assert.ok(fs.readFileSync(path.join(out, "export", "model", "model.safetensors")).equals(reference.modelBytes));
    assert.match(fs.readFileSync(path.join(out, "export", "llamafactory.yaml"), "utf8"), /finetuning_type: freeze/);
    assert.ok(fs.existsSync(path.join(out, "export", "README.md")));
    const report = fs.readFileSync(path.join(out, "report.html"), "utf8");
    assert.equal(report.match(/data-tokenlab-plotly=/g)?.length, 1, "plotly.js is embedded once");
    assert.match(report, /training \(gradual\)/);
    assert.match(report, /new-token accuracy/);
    assert.match(report, /&lt;think&gt;/);
  });

  it("Ctrl-C stops at a step boundary with a resumable state; --resume finishes identical to the uninterrupted run", async () => {
    const out = path.join(dir, "interrupted");
    let sent = false;
    const stopped = await tokenlabRun([yamlFile, "--output", out], (text, kill) => {
      if (!sent && /^step 6:/m.test(text)) (sent = true), kill();
    });
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /interrupted at step (\d+) of 24; state saved in .*Continue with: tokenlab run --resume/);
    const at = readJsonLines(path.join(out, "steps.jsonl")).length;
    assert.ok(at >= 6 && at < 24, `stopped after ${at} steps`);
    assert.ok(fs.existsSync(path.join(out, "state", "state.json")));
    assert.ok(!fs.existsSync(path.join(out, "model")), "an interrupted run writes no final model");

    const resumed = await tokenlabRun(["--resume", out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assertSameAsReference(out);
    const events = readJsonLines(path.join(out, "events.jsonl")) as Array<{ kind: string; step: number }>;
    assert.deepEqual(events.filter((e) => e.kind === "interrupted" || e.kind === "resumed").map((e) => [e.kind, e.step]), [["interrupted", at], ["resumed", at]]);
    assert.ok(!fs.existsSync(path.join(out, "state")), "the state is removed once the run completed");
    const again = await tokenlabRun(["--resume", out]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /nothing to resume/);
  });

  for (const [what, edit, pattern] of [
    ["an unknown key", (t: string) => t.replace("  batchSize: 4", "  batchSize: 4\n  stepz: 3"), /experiment\.yaml:20: train\.stepz: unknown key \(did you mean "steps"\?\)/],
    ["a wrong type", (t: string) => t.replace("steps: 24", "steps: twenty"), /experiment\.yaml:18: train\.steps: must be a whole number, got string "twenty"/],
    ["a missing file", (t: string) => t.replace("files: data.jsonl", "files: [data.jsonl, more.jsonl]"), /experiment\.yaml:11: data\.files\[1\]: .*more\.jsonl does not exist/],
  ] as const) {
    it(`${what} is an error naming the key and its line, exit code 2, nothing written`, async () => {
      const folder = fs.mkdtempSync(path.join(dir, "bad-"));
      const bad = path.join(folder, "experiment.yaml");
      fs.writeFileSync(bad, edit(EXPERIMENT));
      fs.symlinkSync(path.join(dir, "ckpt"), path.join(folder, "ckpt"));
      fs.copyFileSync(path.join(dir, "data.jsonl"), path.join(folder, "data.jsonl"));
      const { code, stderr } = await tokenlabRun([bad]);
      assert.equal(code, 2, stderr);
      assert.match(stderr, pattern);
      assert.doesNotMatch(stderr, /\n\s+at /, "a clear message, not a stack trace");
      assert.deepEqual(fs.readdirSync(folder).sort(), ["ckpt", "data.jsonl", "experiment.yaml"]);
    });
  }

  it("refuses an output folder that already holds files, leaving it untouched", async () => {
    const out = path.join(dir, "taken");
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, "notes.txt"), "mine");
    const { code, stderr } = await tokenlabRun([yamlFile, "--output", out]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /already exists and is not an empty folder/);
    assert.deepEqual(fs.readdirSync(out), ["notes.txt"]);
  });

  it("the experiment file written from a notebook's train(...) call runs into an equal run", async () => {
    const file = path.join(dir, "from-notebook.yaml");
    const text = fs.readFileSync(file, "utf8");
    // Written relative to its folder, with the tokens' flags and init.
    assert.match(text, /^model: ckpt$/m);
    assert.match(text, /content: <\/think>\n\s+special: true/);
    assert.match(text, /describe: end of thinking/);
    const outcome = await runExperiment(parseExperiment(text, file));
    assert.equal(outcome.status, "completed");
    assertSameAsReference(path.join(dir, "from-notebook.run"));
  });
});
