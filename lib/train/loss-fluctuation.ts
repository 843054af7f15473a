/**
 * Fluctuation of the new-token loss: a warning sign that the new rows' init does not suit the model
 * (a huge norm, say) or that their learning rate is too high. Measured on the loss's second differences,
 * so a trend — even a fast fall that bends into a plateau — does not count, only batch-to-batch jumps;
 * and relative to the loss level of a uniform guess, ln(vocabulary size), so one threshold fits every model:
 *
 *   fluctuation(t) = √( mean over the window of (y[i] − 2·y[i+1] + y[i+2])² / 6 ) / ln(V)
 *
 * over the last FLUCTUATION_WINDOW finite new-token losses y (NaN until FLUCTUATION_MIN_POINTS of them).
 * For independent noise of sd σ around a smooth curve a second difference has variance 6σ², so this is
 * σ / ln V; a straight line scores 0, and 11·e^(−0.3t) (a fall from 11 to 1 in 8 steps) scores 0.026.
 *
 * Why not relative to the loss's own level: measured on the bundled model (notebook 02's task), a
 * well-initialized `<sep>` converges to ~0.3 nats and then wobbles between 0.01 and 2 from batch to
 * batch — hundreds of percent of its level, yet harmless (a batch holds only a few `<sep>` targets) —
 * while an init with a huge norm sits at 10–30 nats and jumps by 5–10 nats between batches, only ~30% of
 * its level. Divided by its own level the indicator fired on the good runs and not on the bad ones.
 * In units of ln(V), over 3 seeds × 24 steps (batch 4, lr 0.02), the good inits (`random`, `zeros`,
 * `mean`, `noisy-mean`, `from`, `describe`) peaked at 0.06–0.16 and `{random: {std: 1}}` (rows ~10× the
 * usual norm) at 0.47 and 0.61 — and 0.20 for a seed whose random row happened to start close.
 */
export const FLUCTUATION_WINDOW = 10;
export const FLUCTUATION_MIN_POINTS = 6;
/** Warn above this: batch-to-batch swings of ~0.25·ln(V) nats around the trend (2 nats for V = 4096). */
export const FLUCTUATION_THRESHOLD = 0.25;

export interface LossFluctuation {
  /** The indicator at each step (same indices as the losses; NaN before enough finite losses). */
  values: number[];
  /** Its largest value and where (index into the losses); NaN / −1 when never computed. */
  max: number;
  maxIndex: number;
  /** Indices where it is above the threshold. */
  alarms: number[];
  threshold: number;
}

/** The indicator over a run's new-token losses; `vocabSize` is the number of tokens V the model predicts. */
export function lossFluctuation(losses: readonly number[], vocabSize: number, threshold = FLUCTUATION_THRESHOLD): LossFluctuation {
  const scale = Math.log(vocabSize);
  const window: number[] = [];
  const values = losses.map((loss) => {
    if (!Number.isFinite(loss)) return NaN;
    window.push(loss);
    if (window.length > FLUCTUATION_WINDOW) window.shift();
    return window.length >= FLUCTUATION_MIN_POINTS ? secondDifferenceSd(window) / scale : NaN;
  });
  let maxIndex = -1;
  values.forEach((v, i) => {
    if (Number.isFinite(v) && (maxIndex < 0 || v > values[maxIndex])) maxIndex = i;
  });
  const alarms = values.flatMap((v, i) => (v > threshold ? [i] : []));
  return { values, max: maxIndex < 0 ? NaN : values[maxIndex], maxIndex, alarms, threshold };
}

/** One line for a summary: the largest spread and, when it crosses the threshold, a warning. */
export function fluctuationVerdict(f: LossFluctuation, steps: readonly number[]): string {
  if (f.maxIndex < 0) return "–";
  const peak = `max ${f.max.toPrecision(2)}·ln V at step ${steps[f.maxIndex]} (warns above ${f.threshold})`;
  if (f.alarms.length === 0) return peak;
  return `⚠ ${peak}: fluctuates violently from step ${steps[f.alarms[0]]} — the new rows' init may not suit the model (norm?), or their learning rate is too high`;
}

/** The noise sd that the second differences of y imply: √(mean (Δ²y)² / 6). */
function secondDifferenceSd(y: readonly number[]): number {
  let squares = 0;
  for (let i = 0; i + 2 < y.length; i++) squares += (y[i] - 2 * y[i + 1] + y[i + 2]) ** 2;
  return Math.sqrt(squares / (y.length - 2) / 6);
}
