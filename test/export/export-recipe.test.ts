import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { Tokenizer } from "@anush008/tokenizers";
import { parse } from "yaml";
import { evaluate } from "../../lib/analysis/evaluate";
import { formatNumber } from "../../lib/display/text-format";
import { TokenlabError } from "../../lib/errors/tokenlab-error";
import { exportRecipe } from "../../lib/export/export-recipe";
import { PEFT_SCRIPT } from "../../lib/export/peft-script";
import { loadModel } from "../../lib/models/load-model";
import type { TransformerLM } from "../../lib/models/transformer-lm";
import { addTokens } from "../../lib/tokens/add-tokens";
import type { AddTokensResult } from "../../lib/tokens/add-tokens-result";
import type { TrainResult } from "../../lib/train/run";
import { train } from "../../lib/train/train";
import type { Run } from "../../lib/train/run";
import { relativeError, runReference } from "../reference/run-reference";
import { tinyModel } from "../tokens/tiny-model";
import { vocabRows } from "../../lib/models/model-rows";

const SPECS = [
  { content: "<think>", special: true, rstrip: true },
  { content: "</think>", special: true, lstrip: true },
  { content: "<sep>", init: { from: "-" } },
  { content: "<b>", normalized: false, singleWord: true },
];
const EXAMPLES = Array.from({ length: 24 }, (_, i) => `<think> the fox ${i % 5} </think> sat<sep>down <b> dog ${i % 3}`);
const PROBE = "a <think> fox </think> b<sep>c <b> d";

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8"));
const LLAMAFACTORY_KEYS = new Set<string>(fixture("llamafactory-keys.json").sources.flatMap((s: { keys: string[] }) => s.keys));
const TRAINING_ARGUMENT_KEYS = new Set<string>(
  fixture("llamafactory-keys.json").sources.find((s: { dataclass: string }) => s.dataclass === "TrainingArguments").keys,
);
const PYTHON_API = fixture("python-api.json");
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));
const readLines = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));

/** PyYAML (what LLaMA-Factory reads the config with) parses the file; returns each key's Python type name. */
function pyYamlTypes(file: string): Record<string, string> {
  const code = "import json,sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print(json.dumps({k: type(v).__name__ for k, v in d.items()}))";
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", code, file]).toString());
}

describe("exportRecipe", function () {
  this.timeout(300_000);
  let root: string;
  let model: TransformerLM;
  let removeModel: () => void;
  let added: AddTokensResult;
  let run: Run;
  let result: TrainResult;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-export-"));
    ({ model, remove: removeModel } = await tinyModel({ tied: false }));
    // The notebook flow: add tokens with flags and inits, train the new rows, export.
    added = addTokens(model, SPECS, { seed: 3 });
    run = train(added, EXAMPLES, { strategy: "new-rows", steps: 4, batchSize: 4, seqLen: 16, evalFraction: 0.2, evalEvery: 2, lr: 0.05, display: false });
    result = await run;
  });
  after(() => {
    run.dispose();
    model.dispose();
    removeModel();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const out = (name: string) => path.join(root, name);

  it("exports a checkpoint PyTorch loads with tokenlab's logits, trained or initial", async () => {
    await exportRecipe(run, out("trained"), { checkpoint: "trained" });
    await exportRecipe(run, out("initial"));
    const ids = [added.model.tokenizer.encode(PROBE).slice(0, 10), added.model.tokenizer.encode(`${PROBE} again`).slice(0, 10)];
    const [trainedRef, initialRef] = runReference([
      { dir: out("trained/model"), ids },
      { dir: out("initial/model"), ids },
    ]);
    for (const [name, tokenlabModel, reference] of [
      ["trained", result.model, trainedRef],
      ["initial", added.model, initialRef],
    ] as const) {
      const expected = tokenlabModel.logits(ids);
      const loaded = await loadModel(out(`${name}/model`));
      const reloaded = loaded.logits(ids);
      // Up to float32 rounding: the model computes its added rows as an overlay product, the reloaded copy within one matrix.
      assert.ok(relativeError(reloaded.dataSync(), Array.from(expected.dataSync())) < 1e-6, `${name}: tokenlab reloads the same weights`);
      assert.ok(relativeError(expected.dataSync(), reference.logits) < 1e-4, `${name}: PyTorch logits`);
      tf.dispose([expected, reloaded]);
      loaded.dispose();
    }
    assert.notDeepEqual(trainedRef.logits, initialRef.logits, "the trained export holds the trained rows");
    const rows = vocabRows(added.model);
    const config = readJson(out("trained/model/config.json"));
    assert.equal(config.vocab_size, rows);
    assert.equal(config.tie_word_embeddings, false);
  });

  it("keeps every new token and its AddedToken flags (the Rust tokenizer reads the export)", async () => {
    const dir = out("trained/model");
    const saved = readJson(path.join(dir, "tokenizer.json")).added_tokens as Array<Record<string, unknown>>;
    for (const token of added.tokens) {
      const entry = saved.find((t) => t.id === token.id);
      assert.deepEqual(entry, {
        id: token.id,
        content: token.content,
        single_word: token.flags.singleWord,
        lstrip: token.flags.lstrip,
        rstrip: token.flags.rstrip,
        normalized: token.flags.normalized,
        special: token.flags.special,
      });
    }
    assert.deepEqual(
      added.tokens.map((t) => [t.content, t.flags.special, t.flags.singleWord, t.flags.normalized]),
      [
        ["<think>", true, false, false],
        ["</think>", true, false, false],
        ["<sep>", false, false, true],
        ["<b>", false, true, false],
      ],
    );
    const rust = Tokenizer.fromFile(path.join(dir, "tokenizer.json"));
    const rustIds = (await rust.encode(PROBE, null, { addSpecialTokens: false })).getIds();
    assert.deepEqual(rustIds, added.model.tokenizer.encode(PROBE));
    for (const id of added.newIds) assert.ok(rustIds.includes(id), `new id ${id} is one token`);
    const readme = fs.readFileSync(out("trained/README.md"), "utf8");
    for (const token of added.tokens) assert.ok(readme.includes(`| ${token.id} |`), `README lists ${token.content}`);
  });

  it("writes a LLaMA-Factory config whose every key is pinned, with its dataset and the run's figures", () => {
    const dir = out("trained");
    const yaml = parse(fs.readFileSync(path.join(dir, "llamafactory.yaml"), "utf8"));
    for (const key of Object.keys(yaml)) assert.ok(LLAMAFACTORY_KEYS.has(key), `llamafactory.yaml key ${key} is not in fixtures/llamafactory-keys.json`);
    assert.equal(yaml.finetuning_type, "freeze");
    assert.equal(yaml.freeze_trainable_layers, 0);
    assert.equal(yaml.freeze_extra_modules, "embed_tokens,lm_head");
    assert.equal(yaml.learning_rate, 0.05);
    assert.equal(yaml.max_steps, 4);
    assert.equal(yaml.per_device_train_batch_size, 4);
    assert.equal(yaml.cutoff_len, 16);
    assert.equal(yaml.eval_steps, 2);
    assert.equal(yaml.model_name_or_path, "model");
    // PyYAML reads numbers as numbers (YAML 1.1 would read 1e-8 as a string).
    const types = pyYamlTypes(path.join(dir, "llamafactory.yaml"));
    assert.equal(types.learning_rate, "float");
    assert.equal(types.adam_epsilon, "float");
    assert.equal(types.max_steps, "int");

    const info = readJson(path.join(dir, yaml.dataset_dir, "dataset_info.json"));
    const source = run.setup.data.source!;
    for (const [name, examples] of [
      [yaml.dataset, source.train],
      [yaml.eval_dataset, source.eval],
    ] as const) {
      const lines = readLines(path.join(dir, yaml.dataset_dir, info[name].file_name));
      assert.deepEqual(info[name].columns, { prompt: "text" });
      assert.deepEqual(lines, examples.map((e) => ({ text: (e as { text: string }).text })));
    }
    const order = readJson(path.join(dir, "data/train_order.json")) as number[][];
    const rows = readLines(path.join(dir, "data/train_rows.jsonl"));
    assert.equal(order.length, 4);
    assert.deepEqual(rows.map((r) => r.input_ids), run.setup.data.train.map((r) => r.inputIds));

    const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    assert.match(readme, /llamafactory-cli train llamafactory\.yaml/);
    assert.match(readme, /python train_peft\.py/);
    assert.match(readme, /cannot train single rows/);
    const last = result.history[result.history.length - 1];
    assert.ok(readme.includes(`| train, last step | ${last.step} |`), "README has the last step's figures");
    assert.ok(readme.includes(`Run status: ${result.status} after 4 step(s)`));
  });

  it("puts evaluate()'s new-token metrics into the README's figures", async () => {
    const report = evaluate(result.model, run.setup.data.eval, { newIds: added.newIds });
    const exported = await exportRecipe(run, out("evaluated"), { checkpoint: "trained", evaluation: report });
    const readme = fs.readFileSync(path.join(out("evaluated"), "README.md"), "utf8");
    assert.equal(exported.readme, readme);
    for (const name of ["newTokenLoss", "newTokenAccuracy", "loss", "accuracy"] as const) {
      assert.ok(readme.includes(`| ${name} | ${formatNumber(report.metrics[name])} |`), `README shows ${name}`);
    }
  });

  it("maps full, gradual and explicit group strategies onto finetuning_type / freeze_* keys", async () => {
    const cases: Array<{ name: string; train: Parameters<typeof train>[2]; expect: Record<string, unknown> }> = [
      { name: "full", train: { strategy: "full", steps: 6 }, expect: { finetuning_type: "full", lr_scheduler_type: "cosine_with_min_lr", warmup_steps: 0, early_stopping_steps: 3, load_best_model_at_end: true } },
      { name: "top", train: { strategy: ["block.-1:", "embed"], steps: 6 }, expect: { finetuning_type: "freeze", freeze_trainable_layers: 1, freeze_trainable_modules: "all", freeze_extra_modules: "embed_tokens" } },
      { name: "bottom-mlp", train: { strategy: ["block.0.mlp"], steps: 6 }, expect: { finetuning_type: "freeze", freeze_trainable_layers: -1, freeze_trainable_modules: "mlp" } },
      { name: "gradual", train: { strategy: "gradual", unfreeze: { every: 2 }, steps: 6 }, expect: { finetuning_type: "freeze", freeze_trainable_layers: 2, freeze_trainable_modules: "all" } },
    ];
    for (const c of cases) {
      const exported = await exportRecipe(added, out(c.name), { data: EXAMPLES, train: { ...c.train, seqLen: 16, batchSize: 4 } });
      const yaml = parse(fs.readFileSync(path.join(out(c.name), "llamafactory.yaml"), "utf8"));
      for (const key of Object.keys(yaml)) assert.ok(LLAMAFACTORY_KEYS.has(key), `${c.name}: key ${key} is not pinned`);
      for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(yaml[key], value, `${c.name}: ${key}`);
      if (c.name === "full") assert.ok(!("freeze_trainable_layers" in yaml));
      // Only the new-rows strategy gets the PEFT script (it reproduces exactly that strategy).
      assert.equal(fs.existsSync(path.join(out(c.name), "train_peft.py")), false, c.name);
      assert.ok(exported.readme.includes("Approximate:"));
      assert.ok(exported.files.includes("model/config.json"));
    }
    const gradualReadme = fs.readFileSync(path.join(out("gradual"), "README.md"), "utf8");
    assert.match(gradualReadme, /cannot open layers during a run/);
  });

  it("names GPT-2's modules as LLaMA-Factory and PEFT see them (wte, wpe, attn; a tied head)", async () => {
    const gpt2 = await tinyModel({ architecture: "GPT2LMHeadModel", tied: true });
    try {
      const gptAdded = addTokens(gpt2.model, ["<sep>"], { seed: 1 });
      const examples = Array.from({ length: 10 }, (_, i) => `fox<sep>dog ${i}`);
      await exportRecipe(gptAdded, out("gpt2-groups"), { data: examples, train: { strategy: ["embed", "block.-1:.attn"], steps: 2 } });
      const yaml = parse(fs.readFileSync(path.join(out("gpt2-groups"), "llamafactory.yaml"), "utf8"));
      assert.deepEqual([yaml.freeze_trainable_layers, yaml.freeze_trainable_modules, yaml.freeze_extra_modules], [1, "attn", "wte,wpe"]);
      await exportRecipe(gptAdded, out("gpt2-rows"), { data: examples, train: { steps: 2 } });
      assert.deepEqual(readJson(path.join(out("gpt2-rows"), "train_peft.json")).peft.target_modules, ["wte"]);
      (gptAdded.model as TransformerLM).dispose([gpt2.model.weights]);
    } finally {
      gpt2.model.dispose();
      gpt2.remove();
    }
  });

  it("gives a new-rows recipe the rate tokenlab trains the rows at and no weight decay (deltas never decay)", async () => {
    await exportRecipe(added, out("rates"), { data: EXAMPLES, train: { strategy: "new-rows", steps: 3, lr: 0.01, groupLr: { "embed.new": 0.2 }, weightDecay: 0.1 } });
    const yaml = parse(fs.readFileSync(path.join(out("rates"), "llamafactory.yaml"), "utf8"));
    const peft = readJson(path.join(out("rates"), "train_peft.json"));
    assert.equal(yaml.learning_rate, 0.2);
    assert.equal(yaml.weight_decay, 0);
    assert.equal(peft.training_arguments.learning_rate, 0.2);
    assert.equal(peft.training_arguments.weight_decay, 0);
    // The untied head's new rows keep the base rate in tokenlab: one Trainer rate cannot say so, and the README does.
    assert.match(fs.readFileSync(path.join(out("rates"), "README.md"), "utf8"), /the head's new rows train at 0\.01 in tokenlab; here at the embedding rows' 0\.2/);
  });

  it("gives train_peft.py tokenlab's exact step-1 batch: PyTorch's loss on it, shaped as transformers shifts labels, is tokenlab's", () => {
    const dir = out("initial");
    const order = readJson(path.join(dir, "data/train_order.json")) as number[][];
    const rows = readLines(path.join(dir, "data/train_rows.jsonl"));
    const pad = 0;
    // What PackedRows in train_peft.py feeds transformers: one more position, labels shifted right by one.
    // transformers then scores logits[:, t] against labels[:, t + 1], i.e. position t against tokenlab's labels[t].
    const batch = order[0].map((i) => rows[i]);
    const [reference] = runReference([
      {
        dir: path.join(dir, "model"),
        ids: batch.map((r) => [...r.input_ids, pad]),
        mask: batch.map((r) => [...r.attention_mask, 1]),
        targets: batch.map((r) => [...r.labels, -100]),
      },
    ]);
    assert.ok(Math.abs(reference.loss! - result.history[0].loss) < 1e-4 * result.history[0].loss, `${reference.loss} vs ${result.history[0].loss}`);
  });

  it("writes train_peft.py that compiles, imports only pinned names and gets pinned arguments", () => {
    const dir = out("trained");
    assert.equal(fs.readFileSync(path.join(dir, "train_peft.py"), "utf8"), PEFT_SCRIPT);
    execFileSync("/usr/bin/python3", ["-m", "py_compile", path.join(dir, "train_peft.py")]);
    const listImports =
      "import ast,json,sys; t=ast.parse(open(sys.argv[1]).read()); out=[]\n" +
      "for n in ast.walk(t):\n" +
      "    if isinstance(n, ast.Import): out += [[a.name, None] for a in n.names]\n" +
      "    elif isinstance(n, ast.ImportFrom): out += [[n.module, a.name] for a in n.names]\n" +
      "print(json.dumps(out))";
    const imports = JSON.parse(execFileSync("/usr/bin/python3", ["-c", listImports, path.join(dir, "train_peft.py")]).toString()) as Array<[string, string | null]>;
    assert.ok(imports.length > 0);
    for (const [module, name] of imports) {
      if (name === null) assert.ok(PYTHON_API.modules.includes(module), `import ${module} is not pinned`);
      else assert.ok((PYTHON_API.imports[module] ?? []).includes(name), `from ${module} import ${name} is not pinned`);
    }
    const config = readJson(path.join(dir, "train_peft.json"));
    for (const key of Object.keys(config.training_arguments)) assert.ok(TRAINING_ARGUMENT_KEYS.has(key), `TrainingArguments key ${key} is not pinned`);
    for (const key of Object.keys(config.peft)) assert.ok(PYTHON_API.arguments.TrainableTokensConfig.includes(key), `TrainableTokensConfig ${key}`);
    assert.deepEqual(config.peft, { token_indices: added.newIds, target_modules: ["embed_tokens", "lm_head"] });
    assert.equal(config.training_arguments.learning_rate, 0.05);
    assert.equal(config.training_arguments.weight_decay, 0);
  });

  it("refuses bad input with a clear error and writes nothing", async () => {
    const target = out("refused");
    await assert.rejects(exportRecipe(run, target, { overwirte: true } as never), (e: Error) => e instanceof TokenlabError && /unknown exportRecipe option "overwirte"/.test(e.message));
    await assert.rejects(exportRecipe(added, target), /needs options\.data/);
    await assert.rejects(exportRecipe(run, target, { data: EXAMPLES }), /already fixed its data/);
    await assert.rejects(exportRecipe(run, target, { checkpoint: "best" as never }), /checkpoint must be one of "initial", "trained", got "best"/);
    await assert.rejects(exportRecipe(run, target, { dtype: "f16" as never }), /dtype must be one of "F32", "F16", "BF16", got "f16"/);
    assert.equal(fs.existsSync(target), false);

    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "notes.txt"), "mine");
    const parentBefore = fs.readdirSync(root).sort();
    await assert.rejects(exportRecipe(run, target), (e: Error) => e instanceof TokenlabError && /exists and is not empty.*overwrite/.test(e.message));
    assert.deepEqual(fs.readdirSync(target), ["notes.txt"]);
    assert.equal(fs.readFileSync(path.join(target, "notes.txt"), "utf8"), "mine");
    assert.deepEqual(fs.readdirSync(root).sort(), parentBefore, "no staging folder left behind");

    await exportRecipe(run, target, { overwrite: true });
    assert.equal(fs.existsSync(path.join(target, "notes.txt")), false, "overwrite replaces the folder whole");
    assert.ok(fs.existsSync(path.join(target, "model/model.safetensors")));
  });
});
