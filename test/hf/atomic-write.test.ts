import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend/init-backend";
import { loadModel, saveModel } from "../../lib/models/load-model";
import { writeTinyCheckpoint } from "../fixtures/tiny-checkpoint";

const IDS = [[5, 72, 101, 108, 108]];

/** Every file of a directory with its bytes. */
const snapshot = (dir: string) => Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));

/** Starts a real saveModel of `source` over `target` in a child process and resolves once it is paused between the two renames. */
function startPausedSave(source: string, target: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "../fixtures/save-model-child.ts"), source, target], {
    env: { ...process.env, TOKENLAB_TEST_PAUSE_BETWEEN_RENAMES: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes("TOKENLAB_TEST_PAUSE_BETWEEN_RENAMES: paused")) resolve(child);
    });
    child.on("exit", (code, signal) => reject(new Error(`the saving child ended (${code ?? signal}) before pausing:\n${stderr}`)));
  });
}

/** SIGKILL: no handler, no finally block and no exit hook of the child runs. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  assert.equal(child.signalCode, "SIGKILL");
}

describe("atomic directory replacement survives a writer killed mid-swap", function () {
  this.timeout(120_000);
  let root: string;
  let child: ChildProcess | undefined;
  before(async () => {
    await initBackend();
  });
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-swap-"));
    writeTinyCheckpoint(path.join(root, "old"), { seed: 1 });
    writeTinyCheckpoint(path.join(root, "new"), { seed: 2 });
    fs.cpSync(path.join(root, "old"), path.join(root, "target"), { recursive: true });
    fs.writeFileSync(path.join(root, "target", "README.md"), "notes");
  });
  afterEach(async () => {
    if (child) await kill(child);
    child = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });
  const leftovers = () => fs.readdirSync(root).filter((f) => f.startsWith(".")).sort();

  it("a save SIGKILLed between its two renames: the next loadModel restores the old checkpoint intact and removes the dead writer's folders", async () => {
    const target = path.join(root, "target");
    const before = snapshot(target);
    child = await startPausedSave(path.join(root, "new"), target);
    await kill(child);
    assert.ok(!fs.existsSync(target), "the kill left the target name missing");
    assert.deepEqual(
      leftovers().map((f) => f.replace(/-\d+-\d+$/, "")),
      [".target.previous", ".target.saving"],
      "the old files are only in the previous folder, the new ones in staging",
    );

    const model = await loadModel(target);
    assert.deepEqual(snapshot(target), before, "every old file is back, byte for byte, README included");
    assert.deepEqual(leftovers(), []);
    const old = await loadModel(path.join(root, "old"));
    assert.deepEqual(model.logits(IDS).dataSync(), old.logits(IDS).dataSync());
    model.dispose();
    old.dispose();
  });

  it("a concurrent live writer's staging folder is kept; once it is killed, the next saveModel removes it", async () => {
    const target = path.join(root, "target");
    const before = snapshot(target);
    child = await startPausedSave(path.join(root, "new"), target);

    const model = await loadModel(target); // restores the target while the writer is still alive
    assert.deepEqual(snapshot(target), before);
    assert.deepEqual(leftovers().map((f) => f.replace(/-\d+-\d+$/, "")), [".target.saving"], "the live writer's staging folder stays");
    assert.ok(leftovers()[0].includes(`.saving-${child.pid}-`));

    await kill(child);
    await saveModel(model, target);
    assert.deepEqual(leftovers(), [], "the dead writer's staging folder is gone");
    assert.equal(fs.readFileSync(path.join(target, "README.md"), "utf8"), "notes");
    model.dispose();
  });

  it("a previous folder beside an existing target is removed only when its writer is dead or this process", async () => {
    const target = path.join(root, "target");
    const exited = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => exited.once("exit", resolve));
    const dead = exited.pid!;
    const live = process.ppid; // alive, and not this process
    for (const name of [`.target.previous-${dead}-1`, `.target.saving-${dead}-2`, `.target.saving-${process.pid}-3`, `.target.saving-${live}-4`, `.target.previous-${live}-5`]) {
      fs.mkdirSync(path.join(root, name));
    }
    const before = snapshot(target);
    (await loadModel(target)).dispose();
    assert.deepEqual(snapshot(target), before, "the existing target is kept, not replaced by a previous folder");
    assert.deepEqual(leftovers(), [`.target.previous-${live}-5`, `.target.saving-${live}-4`]);
  });
});
