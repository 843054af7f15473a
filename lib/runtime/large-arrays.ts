/**
 * Maximum, minimum and append over arrays that may hold a whole vocabulary (150k+ logits) or a long
 * document's token ids. `Math.max(...values)` and `target.push(...items)` pass every element as a
 * call argument, which overflows the stack ("Maximum call stack size exceeded") at ~100k elements.
 * Same results as the spread forms: -Infinity / Infinity for an empty array, NaN if any value is NaN.
 */
export function maxOf(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  return max;
}

export function minOf(values: ArrayLike<number>): number {
  let min = Infinity;
  for (let i = 0; i < values.length; i++) min = Math.min(min, values[i]);
  return min;
}

/** `target.push(...items)` without the argument-count limit; returns target. */
export function appendAll<T>(target: T[], items: ArrayLike<T>): T[] {
  for (let i = 0; i < items.length; i++) target.push(items[i]);
  return target;
}
