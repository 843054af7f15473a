/**
 * Maps a line of the JavaScript that tslab's converter emitted back to the cell line it came from.
 * The converter does not emit source maps, but it keeps statements in order, so a monotone
 * alignment of lines by shared tokens (identifiers, numbers, strings) recovers the mapping:
 * compiled line i maps to source line j, with j never decreasing as i grows.
 */
import { maxOf } from "../../lib/runtime/large-arrays";

const TOKEN = /[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
/** Tokens the converter adds or rewrites; they say nothing about where a line came from. */
const NOISE = new Set(["exports", "require", "const", "let", "var", "void", "default", "Object", "defineProperty"]);

function tokensOf(line: string): Set<string> {
  return new Set((line.match(TOKEN) ?? []).filter((token) => !NOISE.has(token)));
}

function similarity(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const token of a) if (b.has(token)) shared++;
  return shared / (a.size + b.size - shared);
}

/** For every compiled line (0-based), the 0-based cell line it most likely came from. */
export function alignCompiledToSource(compiled: string, source: string): number[] {
  const compiledTokens = compiled.split("\n").map(tokensOf);
  const sourceTokens = source.split("\n").map(tokensOf);
  const rows = compiledTokens.length;
  const cols = sourceTokens.length;
  // best[i][j]: best total similarity of lines 0..i with line i mapped to j (monotone).
  const best: Float64Array[] = [];
  const from: Int32Array[] = [];
  for (let i = 0; i < rows; i++) {
    best.push(new Float64Array(cols));
    from.push(new Int32Array(cols));
    let prefixBest = -Infinity;
    let prefixArg = 0;
    for (let j = 0; j < cols; j++) {
      if (i > 0 && best[i - 1][j] > prefixBest) {
        prefixBest = best[i - 1][j];
        prefixArg = j;
      }
      // A small pull towards the diagonal breaks ties between equally (dis)similar lines.
      const score = similarity(compiledTokens[i], sourceTokens[j]) - 1e-6 * Math.abs(j - i);
      best[i][j] = (i > 0 ? prefixBest : 0) + score;
      from[i][j] = prefixArg;
    }
  }
  const mapping = new Array<number>(rows).fill(0);
  if (rows === 0 || cols === 0) return mapping;
  let j = best[rows - 1].indexOf(maxOf(best[rows - 1]));
  for (let i = rows - 1; i >= 0; i--) {
    mapping[i] = j;
    j = from[i][j];
  }
  return mapping;
}
