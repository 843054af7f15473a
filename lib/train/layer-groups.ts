import type { ParameterLayout } from "../models/causal-lm";
import { LayerGroupError } from "./layer-group-error";

/**
 * A named set of parameters that trains (or stays frozen) as a unit.
 *
 * - `kind: "tensors"` — whole tensors, by their Hugging Face names.
 * - `kind: "rows"` — only the rows `ids` of one [vocabRows, hidden] matrix (the added tokens); they
 *   train through a small [k, hidden] delta, PEFT TrainableTokens style.
 */
export type LayerGroup =
  | { name: string; kind: "tensors"; tensors: string[] }
  | { name: string; kind: "rows"; tensor: string; ids: number[] };

/**
 * The layer groups of a model, in a fixed order (bottom of the model first):
 *
 * `embed.new`, `embed`, `block.0`, `block.0.attn`, `block.0.mlp`, …, `block.N-1.mlp`, `norm.final`,
 * `head.new`, `head`.
 *
 * - `embed` is the whole input embedding plus the layout's extra tensors outside the blocks (e.g.
 *   GPT-2's position embeddings `transformer.wpe.weight`), the part of the model below block 0.
 * - `block.i` holds all of block i (attention, MLP and its norms); `.attn` / `.mlp` are subsets.
 * - Tied models (layout.head === null): `head` resolves to the embedding matrix and `head.new` to the
 *   same rows as `embed.new` — the head IS the embedding, so training either trains both, exactly as
 *   PEFT's TrainableTokens shares one delta between a tied embedding and lm_head.
 * - `embed.new` / `head.new` exist only when `newIds` is non-empty.
 */
export function layerGroups(layout: ParameterLayout, newIds: readonly number[] = []): LayerGroup[] {
  const ids = [...new Set(newIds)].sort((a, b) => a - b);
  const headTensor = layout.head ?? layout.embedding;
  const groups: LayerGroup[] = [];
  if (ids.length > 0) groups.push({ name: "embed.new", kind: "rows", tensor: layout.embedding, ids });
  groups.push({ name: "embed", kind: "tensors", tensors: [layout.embedding, ...layout.extras] });
  layout.blocks.forEach((block, i) => {
    groups.push({ name: `block.${i}`, kind: "tensors", tensors: [...block.attention, ...block.mlp, ...block.norms] });
    groups.push({ name: `block.${i}.attn`, kind: "tensors", tensors: [...block.attention] });
    groups.push({ name: `block.${i}.mlp`, kind: "tensors", tensors: [...block.mlp] });
  });
  groups.push({ name: "norm.final", kind: "tensors", tensors: [...layout.finalNorm] });
  if (ids.length > 0) groups.push({ name: "head.new", kind: "rows", tensor: headTensor, ids });
  groups.push({ name: "head", kind: "tensors", tensors: [headTensor] });
  return groups;
}

/**
 * Picks groups by selector, keeping the order of `groups` and dropping duplicates. A selector is
 * - an exact name: `embed.new`, `block.3.attn`;
 * - a glob where `*` matches one dotted segment: `block.*.attn`, `block.*`, `*.new`;
 * - a python-style slice over the block indices, optionally followed by a sub-group:
 *   `block.-2:` (last two blocks), `block.:3` (first three), `block.1:5:2`, `block.-1:.mlp`.
 * A selector that matches nothing is an error naming the groups that exist.
 *
 * LLaMA-Factory's freeze tuning maps onto selectors: `freeze_trainable_layers: n` ≙ `block.-n:`
 * (negative n: `block.:n`), `freeze_trainable_modules: mlp` ≙ `block.*.mlp` (with a slice:
 * `block.-n:.mlp`), `freeze_extra_modules: embed_tokens` ≙ `embed`.
 */
export function selectGroups(groups: readonly LayerGroup[], selectors: readonly string[]): LayerGroup[] {
  const chosen = new Set<string>();
  const blockCount = groups.filter((g) => /^block\.\d+$/.test(g.name)).length;
  for (const selector of selectors) {
    const names = matchSelector(groups, selector, blockCount);
    if (names.length === 0) {
      throw new LayerGroupError(`no layer group matches "${selector}"`, {
        selector,
        available: groups.map((g) => g.name),
      });
    }
    names.forEach((n) => chosen.add(n));
  }
  return groups.filter((g) => chosen.has(g.name));
}

function matchSelector(groups: readonly LayerGroup[], selector: string, blockCount: number): string[] {
  const slice = /^block\.(-?\d*):(-?\d*)(?::(-?\d+))?(\.[a-z]+)?$/.exec(selector);
  if (slice) {
    const [, start, stop, step, suffix = ""] = slice;
    const wanted = new Set(pythonSlice(blockCount, start, stop, step).map((i) => `block.${i}${suffix}`));
    return groups.filter((g) => wanted.has(g.name)).map((g) => g.name);
  }
  if (selector.includes("*")) {
    const pattern = new RegExp(`^${selector.split("*").map(escapeRegExp).join("[^.]+")}$`);
    return groups.filter((g) => pattern.test(g.name)).map((g) => g.name);
  }
  return groups.filter((g) => g.name === selector).map((g) => g.name);
}

/** Indices python's `range(n)[start:stop:step]` yields (empty strings = omitted bounds). */
export function pythonSlice(n: number, start?: string, stop?: string, step?: string): number[] {
  const s = step ? Number(step) : 1;
  if (s === 0) throw new LayerGroupError("slice step cannot be zero", { step });
  const clamp = (raw: string | undefined, fallback: number, lo: number, hi: number): number => {
    if (raw === undefined || raw === "") return fallback;
    let v = Number(raw);
    if (v < 0) v += n;
    return Math.min(Math.max(v, lo), hi);
  };
  const out: number[] = [];
  if (s > 0) {
    const from = clamp(start, 0, 0, n);
    const to = clamp(stop, n, 0, n);
    for (let i = from; i < to; i += s) out.push(i);
  } else {
    const from = clamp(start, n - 1, -1, n - 1);
    const to = clamp(stop, -1, -1, n - 1);
    for (let i = from; i > to; i += s) out.push(i);
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
