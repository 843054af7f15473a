import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import type { ParameterLayout } from "../../lib/models/causal-lm";
import { layerGroups, pythonSlice, selectGroups } from "../../lib/train/layer-groups";

function llamaLayout(blocks: number, tied: boolean): ParameterLayout {
  return {
    embedding: "model.embed_tokens.weight",
    head: tied ? null : "lm_head.weight",
    extras: [],
    blocks: Array.from({ length: blocks }, (_, i) => ({
      attention: [`model.layers.${i}.self_attn.q_proj.weight`, `model.layers.${i}.self_attn.o_proj.weight`],
      mlp: [`model.layers.${i}.mlp.up_proj.weight`],
      norms: [`model.layers.${i}.input_layernorm.weight`],
    })),
    finalNorm: ["model.norm.weight"],
  };
}

const names = (groups: { name: string }[]): string[] => groups.map((g) => g.name);

describe("layer groups", () => {
  it("names every group of a model, bottom first, with new rows only when there are new ids", () => {
    assert.deepEqual(names(layerGroups(llamaLayout(2, false))), [
      "embed", "block.0", "block.0.attn", "block.0.mlp", "block.1", "block.1.attn", "block.1.mlp", "norm.final", "head",
    ]);
    const withNew = layerGroups(llamaLayout(1, false), [9, 7, 9]);
    assert.deepEqual(names(withNew), ["embed.new", "embed", "block.0", "block.0.attn", "block.0.mlp", "norm.final", "head.new", "head"]);
    assert.deepEqual(withNew[0], { name: "embed.new", kind: "rows", tensor: "model.embed_tokens.weight", ids: [7, 9] });
    assert.deepEqual(withNew[6], { name: "head.new", kind: "rows", tensor: "lm_head.weight", ids: [7, 9] });
  });

  it("block groups hold attention, MLP and norms; sub-groups only their part", () => {
    const groups = layerGroups(llamaLayout(1, false));
    const block = groups.find((g) => g.name === "block.0");
    assert.deepEqual(block && block.kind === "tensors" && block.tensors.length, 4);
    const mlp = groups.find((g) => g.name === "block.0.mlp");
    assert.deepEqual(mlp, { name: "block.0.mlp", kind: "tensors", tensors: ["model.layers.0.mlp.up_proj.weight"] });
  });

  it("resolves head groups of a tied model to the embedding matrix and the same rows", () => {
    const groups = layerGroups(llamaLayout(1, true), [5]);
    const head = groups.find((g) => g.name === "head");
    const headNew = groups.find((g) => g.name === "head.new");
    assert.deepEqual(head, { name: "head", kind: "tensors", tensors: ["model.embed_tokens.weight"] });
    assert.deepEqual(headNew, { name: "head.new", kind: "rows", tensor: "model.embed_tokens.weight", ids: [5] });
  });

  it("puts extra tensors such as GPT-2 position embeddings in `embed`", () => {
    const layout = { ...llamaLayout(1, true), embedding: "transformer.wte.weight", extras: ["transformer.wpe.weight"] };
    const embed = layerGroups(layout).find((g) => g.name === "embed");
    assert.deepEqual(embed, { name: "embed", kind: "tensors", tensors: ["transformer.wte.weight", "transformer.wpe.weight"] });
  });

  it("selects by name, glob and python slice, in model order without duplicates", () => {
    const groups = layerGroups(llamaLayout(4, false), [10]);
    assert.deepEqual(names(selectGroups(groups, ["head", "embed.new"])), ["embed.new", "head"]);
    assert.deepEqual(names(selectGroups(groups, ["block.*.attn"])), ["block.0.attn", "block.1.attn", "block.2.attn", "block.3.attn"]);
    assert.deepEqual(names(selectGroups(groups, ["block.*"])), ["block.0", "block.1", "block.2", "block.3"]);
    assert.deepEqual(names(selectGroups(groups, ["*.new"])), ["embed.new", "head.new"]);
    assert.deepEqual(names(selectGroups(groups, ["block.-2:"])), ["block.2", "block.3"]);
    assert.deepEqual(names(selectGroups(groups, ["block.:1", "block.0"])), ["block.0"]);
    assert.deepEqual(names(selectGroups(groups, ["block.::2"])), ["block.0", "block.2"]);
    assert.deepEqual(names(selectGroups(groups, ["block.-1:.mlp"])), ["block.3.mlp"]);
  });

  it("implements python slice semantics, negative steps and out-of-range bounds included", () => {
    // Expected values are python's list(range(n))[slice], written out by hand.
    assert.deepEqual(pythonSlice(5, "-2", ""), [3, 4]);
    assert.deepEqual(pythonSlice(5, "", "-1"), [0, 1, 2, 3]);
    assert.deepEqual(pythonSlice(5, "1", "100"), [1, 2, 3, 4]);
    assert.deepEqual(pythonSlice(5, "-100", "2"), [0, 1]);
    assert.deepEqual(pythonSlice(5, "", "", "-1"), [4, 3, 2, 1, 0]);
    assert.deepEqual(pythonSlice(5, "3", "0", "-2"), [3, 1]);
    assert.deepEqual(pythonSlice(5, "", "-4", "-1"), [4, 3, 2]);
    assert.throws(() => pythonSlice(5, "", "", "0"), /step cannot be zero/);
  });

  it("agrees with python's own slicing on every small case", () => {
    const bounds = ["", "-7", "-3", "-1", "0", "1", "2", "6"];
    const cases: Array<[number, string, string, string]> = [];
    for (const n of [0, 1, 4]) for (const a of bounds) for (const b of bounds) for (const c of ["", "1", "2", "-1", "-2"]) cases.push([n, a, b, c]);
    const script = "import json,sys\nprint(json.dumps([list(range(n))[slice(*(int(x) if x else None for x in (a,b,c)))] for n,a,b,c in json.load(sys.stdin)]))";
    const expected = JSON.parse(execFileSync("/usr/bin/python3", ["-c", script], { input: JSON.stringify(cases) }).toString());
    assert.deepEqual(cases.map(([n, a, b, c]) => pythonSlice(n, a, b, c)), expected);
  });

  it("rejects a selector that matches nothing, listing the groups that exist", () => {
    assert.throws(
      () => selectGroups(layerGroups(llamaLayout(2, false)), ["block.7"]),
      (error: any) => /no layer group matches "block.7"/.test(error.message) && error.context.available.includes("block.1"),
    );
    assert.throws(() => selectGroups(layerGroups(llamaLayout(2, false)), ["embed.new"]), /embed.new/);
  });
});
