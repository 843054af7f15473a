import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { main } from "../../kernel/cli";
import { saveModel } from "../../lib/models/load-model";
import { addTokens } from "../../lib/tokens/add-tokens";
import { tinyModel } from "../tokens/tiny-model";

/** Runs `tokenlab …` in-process with stderr captured (the CLI prints its errors there). */
async function tokenlab(argv: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write;
  let stderr = "";
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv, "bin/tokenlab.js"), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe("tokenlab export", function () {
  this.timeout(300_000);
  let root: string;
  let checkpoint: string;
  let data: string;
  let newIds: number[];

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-export-cli-"));
    const { model, remove } = await tinyModel({ tied: true });
    const added = addTokens(model, [{ content: "<think>", special: true }, { content: "<sep>" }], { seed: 1 });
    checkpoint = path.join(root, "checkpoint");
    await saveModel(added.model, checkpoint);
    newIds = added.newIds;
    model.dispose();
    remove();
    data = path.join(root, "data.jsonl");
    fs.writeFileSync(data, Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: `<think> fox ${i} <sep> dog` })).join("\n"));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("exports the recipe train() would run for a saved checkpoint and its new tokens", async () => {
    const out = path.join(root, "out");
    const argv = ["export", checkpoint, out, "--data", data, "--new-token", "<think>", "--new-token", "<sep>", "--steps", "5", "--lr", "0.02", "--seq-len", "16"];
    assert.equal((await tokenlab(argv)).code, 0);
    const yaml = parse(fs.readFileSync(path.join(out, "llamafactory.yaml"), "utf8"));
    assert.equal(yaml.max_steps, 5);
    assert.equal(yaml.learning_rate, 0.02);
    assert.equal(yaml.cutoff_len, 16);
    assert.equal(yaml.freeze_extra_modules, "embed_tokens");
    const peft = JSON.parse(fs.readFileSync(path.join(out, "train_peft.json"), "utf8"));
    assert.deepEqual(peft.peft, { token_indices: newIds, target_modules: ["embed_tokens"] });
    assert.ok(fs.existsSync(path.join(out, "model", "model.safetensors")));
  });

  for (const [problem, args, message] of [
    ["a misspelt option", ["--stpes", "5"], /unknown option --stpes/],
    ["a token the checkpoint lacks", ["--new-token", "<nope>"], /"<nope>" is not in the tokenizer/],
    ["a non-number", ["--steps", "five"], /--steps needs a number/],
  ] as const) {
    it(`exits 2 with a clear message and writes nothing for ${problem}`, async () => {
      const out = path.join(root, `refused-${problem.replace(/\W+/g, "-")}`);
      const { code, stderr } = await tokenlab(["export", checkpoint, out, "--data", data, "--new-token", "<think>", ...args]);
      assert.equal(code, 2);
      assert.match(stderr, message);
      assert.equal(fs.existsSync(out), false);
    });
  }
});
