/**
 * A unified-style line diff for failure reports: `-` lines are the saved output, `+` the fresh one,
 * with two lines of context. Lines longer than `maxLineLength` are cut around their first difference
 * (figures carry megabyte-long lines).
 */
export function unifiedDiff(saved: string, fresh: string, options: { context?: number; maxLineLength?: number } = {}): string {
  const context = options.context ?? 2;
  const maxLineLength = options.maxLineLength ?? 160;
  const a = saved.split("\n");
  const b = fresh.split("\n");
  const ops = lineOps(a, b);
  const changed = ops.map((op) => op.kind !== " ");
  const shown = ops.map((_, i) => changed.slice(Math.max(0, i - context), i + context + 1).includes(true));
  const lines: string[] = ["--- saved", "+++ fresh"];
  let skipped = false;
  ops.forEach((op, i) => {
    if (!shown[i]) {
      if (!skipped) lines.push("@@ … @@");
      skipped = true;
      return;
    }
    skipped = false;
    lines.push(`${op.kind} ${clip(op.text, op.partner ?? op.text, maxLineLength)}`);
  });
  return lines.join("\n");
}

interface LineOp {
  kind: " " | "-" | "+";
  text: string;
  /** the line this one replaces (or is replaced by), to cut long lines where they differ */
  partner?: string;
}

/** LCS on the lines between the common prefix and suffix; beyond ~4M cells it shows the middle as replaced. */
function lineOps(a: string[], b: string[]): LineOp[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) (endA--, endB--);
  const head = a.slice(0, start).map((text): LineOp => ({ kind: " ", text }));
  const tail = a.slice(endA).map((text): LineOp => ({ kind: " ", text }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const middle = midA.length * midB.length <= 4_000_000 ? lcsOps(midA, midB) : replaced(midA, midB);
  return [...head, ...middle, ...tail];
}

function replaced(a: string[], b: string[]): LineOp[] {
  return [
    ...a.map((text, k): LineOp => ({ kind: "-", text, partner: b[k] })),
    ...b.map((text, k): LineOp => ({ kind: "+", text, partner: a[k] })),
  ];
}

function lcsOps(a: string[], b: string[]): LineOp[] {
  // lengths[i][j] = LCS of a[i:] and b[j:]
  const lengths = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const ops: LineOp[] = [];
  let removed: string[] = [];
  let added: string[] = [];
  const flush = (): void => {
    ops.push(...replaced(removed, added));
    removed = [];
    added = [];
  };
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      flush();
      ops.push({ kind: " ", text: a[i] });
      i++;
      j++;
    } else if (j < b.length && (i === a.length || lengths[i][j + 1] >= lengths[i + 1][j])) {
      added.push(b[j++]);
    } else {
      removed.push(a[i++]);
    }
  }
  flush();
  return ops;
}

/** Cuts a long line to a window around where it first differs from `other`. */
function clip(text: string, other: string, max: number): string {
  if (text.length <= max) return text;
  let first = 0;
  while (first < text.length && text[first] === other[first]) first++;
  const from = Math.max(0, Math.min(first - Math.floor(max / 3), text.length - max));
  const to = from + max;
  return `${from > 0 ? `…[${from} chars]` : ""}${text.slice(from, to)}${to < text.length ? `…[${text.length - to} more]` : ""}`;
}
