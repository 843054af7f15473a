import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseExperiment } from "../../lib/experiment/experiment";
import { ExperimentError } from "../../lib/experiment/experiment-error";
import { experimentYaml } from "../../lib/experiment/experiment-yaml";

describe("experiment files", () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-experiment-"));
    fs.mkdirSync(path.join(dir, "ckpt"));
    fs.writeFileSync(path.join(dir, "train.jsonl"), '{"text": "a"}\n');
    fs.writeFileSync(path.join(dir, "notes.txt"), "a\n\nb\n");
    file = path.join(dir, "exp.yaml");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const FULL = `model: ckpt
tokens:
  add:
    - "<sep>"
    - {content: "<|tool|>", special: true, lstrip: true, init: {interpolate: {from: [call, tool], alpha: 0.5}}}
    - {content: "<b>", description: "bold text"}
  init: noisy-mean
  seed: 3
  padToMultipleOf: 8
  onExisting: reuse
data:
  files: [train.jsonl, {path: notes.txt, split: line}]
  examples: ["x", {messages: [{role: user, content: hi}, {role: assistant, content: yo}]}]
  seqLen: 32
  evalFraction: 0.1
  lossOn: assistant
  separatorId: null
train:
  strategy: [embed, "block.-1:"]
  steps: 50
  lr: 3.0e-4
  groupLr: {"block.*": 1.0e-4}
  schedule: warmup-cosine
  warmupSteps: 5
  earlyStopping: {patience: 2, minDelta: 0.01}
  restoreBest: false
evaluate:
  data: notes.txt
  klToBase: true
export: {checkpoint: trained, dtype: BF16}
output: out/run1
`;

  it("reads every key into the objects the notebook API takes, with paths resolved against the file's folder", () => {
    const experiment = parseExperiment(FULL, file);
    assert.equal(experiment.model, path.join(dir, "ckpt"));
    assert.deepEqual(experiment.tokens?.add[1], { content: "<|tool|>", special: true, lstrip: true, init: { interpolate: { from: ["call", "tool"], alpha: 0.5 } } });
    assert.deepEqual(experiment.data.files, [{ path: path.join(dir, "train.jsonl") }, { path: path.join(dir, "notes.txt"), split: "line" }]);
    assert.equal(experiment.data.separatorId, null);
    assert.deepEqual(experiment.train.strategy, ["embed", "block.-1:"]);
    assert.deepEqual(experiment.train.groupLr, { "block.*": 1e-4 });
    assert.deepEqual(experiment.evaluate?.data, [{ path: path.join(dir, "notes.txt") }]);
    assert.deepEqual(experiment.export, { checkpoint: "trained", dtype: "BF16" });
    assert.equal(experiment.output, path.join(dir, "out", "run1"));
    assert.equal(parseExperiment("data: {files: notes.txt}\n", file).model, "base");
    assert.equal(parseExperiment("data: {files: notes.txt}\n", file).output, path.join(dir, "exp.run"), "default output beside the file");
  });

  it("writes YAML that reads back into the same experiment, with relative or absolute paths", () => {
    const experiment = parseExperiment(FULL, file);
    assert.deepEqual(parseExperiment(experimentYaml(experiment, dir), file), experiment);
    assert.deepEqual(parseExperiment(experimentYaml(experiment), path.join(os.tmpdir(), "elsewhere.yaml")), experiment);
  });

  it("the annotated example docs/experiment.yaml is valid", () => {
    const example = path.resolve(__dirname, "../../docs/experiment.yaml");
    const experiment = parseExperiment(fs.readFileSync(example, "utf8"), example);
    assert.equal(experiment.model, "base");
    assert.equal(experiment.tokens?.add.length, 2);
    assert.equal(experiment.data.examples?.length, 4);
  });

  const errors: Array<[string, string, RegExp]> = [
    ["a misspelt key", FULL.replace("  lossOn:", "  losOn:"), /exp\.yaml:16: data\.losOn: unknown key \(did you mean "lossOn"\?\)/],
    ["an unknown top-level key", `${FULL}epochs: 3\n`, /exp\.yaml:32: epochs: unknown key; the keys here are model, tokens, data, train, evaluate, export, output/],
    ["a key inside a token spec", FULL.replace("special: true, lstrip", "special: true, strip"), /exp\.yaml:5: tokens\.add\[1\]\.strip: unknown key/],
    ["a number where a list belongs", FULL.replace("strategy: [embed, \"block.-1:\"]", "strategy: 3"), /exp\.yaml:19: train\.strategy: must be "new-rows", "gradual", "full" or a list of layer-group selectors, got number 3/],
    ["a fraction out of range", FULL.replace("evalFraction: 0.1", "evalFraction: 1.5"), /exp\.yaml:15: data\.evalFraction: must be a number ≥ 0 and ≤ 0\.99, got 1\.5/],
    ["a bad init strategy", FULL.replace("init: noisy-mean", "init: noisy"), /exp\.yaml:7: tokens\.init: must be "random", "zeros"/],
    ["a bad value inside an init object", FULL.replace("alpha: 0.5", "alpha: high"), /exp\.yaml:5: tokens\.add\[1\]\.init\.interpolate\.alpha: must be a number, got string "high"/],
    ["a value of no accepted form", FULL.replace("earlyStopping: {patience: 2, minDelta: 0.01}", "earlyStopping: yes"), /exp\.yaml:25: train\.earlyStopping: must be false or \{patience, minDelta\?\}, got string "yes"/],
    ["a missing required key", FULL.replace("earlyStopping: {patience: 2, minDelta: 0.01}", "earlyStopping: {minDelta: 0.01}"), /exp\.yaml:25: train\.earlyStopping\.patience: is missing \(required\)/],
    ["a missing data file", FULL.replace("[train.jsonl,", "[train2.jsonl,"), /exp\.yaml:12: data\.files\[0\]: .*train2\.jsonl does not exist/],
    ["a file where the model folder belongs", FULL.replace("model: ckpt", "model: notes.txt"), /exp\.yaml:1: model: .*notes\.txt is not a directory/],
    ["no data", "model: base\ndata: {seqLen: 8}\n", /exp\.yaml:2: data: needs `files`/],
    ["gradual without a schedule", "data: {files: notes.txt}\ntrain:\n  strategy: gradual\n", /exp\.yaml:3: train\.strategy: "gradual" needs train\.unfreeze/],
    ["a duplicated key", "data: {files: notes.txt}\ntrain:\n  steps: 3\n  steps: 4\n", /exp\.yaml:4: not valid YAML: Map keys must be unique/],
    ["broken YAML", "data:\n  files: [notes.txt\n", /exp\.yaml:\d: not valid YAML/],
  ];
  for (const [what, text, message] of errors) {
    it(`names the key and its line for ${what}`, () => {
      assert.throws(() => parseExperiment(text, file), (error: unknown) => {
        assert.ok(error instanceof ExperimentError, String(error));
        assert.match(error.message, message);
        return true;
      });
    });
  }
});
