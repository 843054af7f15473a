/**
 * Cross-entropy (nats per token) of `evaluated` under a unigram model of `fitted` with add-one
 * smoothing over `vocabSize` ids: what a model that ignores context achieves at best.
 */
export function unigramCrossEntropy(fitted: ArrayLike<number>, evaluated: ArrayLike<number>, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1);
  for (let i = 0; i < fitted.length; i++) counts[fitted[i]] += 1;
  const total = fitted.length + vocabSize;
  let nats = 0;
  for (let i = 0; i < evaluated.length; i++) nats -= Math.log(counts[evaluated[i]] / total);
  return nats / evaluated.length;
}
