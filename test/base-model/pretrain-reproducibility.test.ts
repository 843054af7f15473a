import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const script = path.resolve(__dirname, "../../scripts/pretrain-base.ts");

/** A smoke run of `npm run pretrain-base` into `outDir`: the real pipeline, two steps of one window. */
function pretrainTiny(outDir: string): void {
  execFileSync(
    process.execPath,
    ["--import", "tsx", script, "--steps", "2", "--batch-size", "1", "--eval-batches", "1", "--no-card", "--out", outDir],
    { stdio: "pipe" },
  );
}

describe("npm run pretrain-base", () => {
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-pretrain-"));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("writes byte-identical weights and tokenizer when run twice", function () {
    this.timeout(180_000);
    const first = path.join(root, "first");
    const second = path.join(root, "second");
    pretrainTiny(first);
    pretrainTiny(second);
    for (const file of ["model.safetensors", "tokenizer.json"]) {
      const a = fs.readFileSync(path.join(first, file));
      const b = fs.readFileSync(path.join(second, file));
      assert.ok(a.length > 0, `${file} is empty`);
      assert.ok(a.equals(b), `${file} differs between two runs with the same seed`);
    }
    const state = JSON.parse(fs.readFileSync(path.join(first, "trainer_state.json"), "utf8"));
    assert.equal(state.global_step, 2, "the run trained and checkpointed");
    assert.equal(fs.existsSync(path.join(first, "README.md")), false, "--no-card skips the model card");
  });
});
