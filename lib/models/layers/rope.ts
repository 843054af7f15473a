import * as tf from "@tensorflow/tfjs-core";
import { TokenlabError } from "../../errors/tokenlab-error";

/** The rotary-embedding settings of a config.json (`rope_theta`, `rope_scaling`). */
export interface RopeSettings {
  theta: number;
  headDim: number;
  maxPositionEmbeddings: number;
  scaling: Record<string, unknown> | null;
}

export function ropeSettings(raw: Record<string, unknown>, headDim: number, maxPositionEmbeddings: number): RopeSettings {
  const scaling = (raw.rope_scaling ?? null) as Record<string, unknown> | null;
  return { theta: Number(raw.rope_theta ?? 10000), headDim, maxPositionEmbeddings, scaling };
}

/**
 * Inverse frequencies [headDim/2] for a sequence of `sequenceLength` positions, following the
 * `rope_type`s of transformers' modeling_rope_utils: default, linear, dynamic (NTK), llama3.
 */
export function inverseFrequencies(settings: RopeSettings, sequenceLength: number): Float64Array {
  const { headDim, scaling } = settings;
  const type = String(scaling?.rope_type ?? scaling?.type ?? "default");
  const factor = Number(scaling?.factor ?? 1);
  let theta = settings.theta;
  if (type === "dynamic" && sequenceLength > settings.maxPositionEmbeddings) {
    // NTK-aware: grow the base with the sequence so the lowest frequency still spans it.
    theta *= ((factor * sequenceLength) / settings.maxPositionEmbeddings - (factor - 1)) ** (headDim / (headDim - 2));
  }
  const inv = new Float64Array(headDim / 2);
  for (let i = 0; i < inv.length; i++) inv[i] = 1 / theta ** ((2 * i) / headDim);
  switch (type) {
    case "default":
    case "dynamic":
      return inv;
    case "linear":
      return inv.map((f) => f / factor);
    case "llama3":
      return llama3Frequencies(inv, scaling!, factor);
    default:
      throw new TokenlabError(`unsupported rope_scaling type "${type}"`, { ropeScaling: scaling });
  }
}

function llama3Frequencies(inv: Float64Array, scaling: Record<string, unknown>, factor: number): Float64Array {
  const low = Number(scaling.low_freq_factor ?? 1);
  const high = Number(scaling.high_freq_factor ?? 4);
  const originalMax = Number(scaling.original_max_position_embeddings ?? 8192);
  const lowWavelength = originalMax / low;
  const highWavelength = originalMax / high;
  return inv.map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength > lowWavelength) return f / factor;
    if (wavelength < highWavelength) return f;
    const smooth = (originalMax / wavelength - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/** cos and sin tables [T, headDim] for positions offset..offset+T-1 (each frequency used twice). */
export function ropeTables(settings: RopeSettings, offset: number, length: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const inv = inverseFrequencies(settings, offset + length);
  const half = inv.length;
  const cos = new Float32Array(length * 2 * half);
  const sin = new Float32Array(length * 2 * half);
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < half; i++) {
      // Angle computed in float32 like transformers (inv_freq and positions are float32 there).
      const angle = Math.fround(Math.fround(inv[i]) * (offset + t));
      const row = t * 2 * half;
      cos[row + i] = cos[row + half + i] = Math.cos(angle);
      sin[row + i] = sin[row + half + i] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [length, 2 * half]), sin: tf.tensor2d(sin, [length, 2 * half]) };
}

/** x·cos + rotate_half(x)·sin for x [B, n, T, hd], rotate_half(x) = [-x2, x1] (HF's convention). */
export function applyRope(x: tf.Tensor, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor {
  const half = x.shape[3]! / 2;
  const [x1, x2] = tf.split(x, [half, half], 3);
  const rotated = tf.concat([tf.neg(x2), x1], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}
