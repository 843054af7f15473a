import { seededRandom } from "../random/seeded-random";

/** Seeded standard normal samples (mulberry32 uniforms through Box–Muller); deterministic per seed. */
export function seededGaussian(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** `count` standard normal samples. */
export function gaussianSamples(normal: () => number, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = normal();
  return out;
}
