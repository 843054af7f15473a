/**
 * Conversions between float32 and the 16-bit formats checkpoints use. BF16 is the top half of a
 * float32 (rounded to nearest even on the way down); F16 is IEEE half precision.
 */

const scratch = new DataView(new ArrayBuffer(4));

export function bf16ToFloat32(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  return new Float32Array(words.buffer);
}

export function float32ToBf16(values: Float32Array): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const w = words[i];
    if ((w & 0x7f800000) === 0x7f800000 && (w & 0x7fffff) !== 0) {
      out[i] = (w >>> 16) | 0x40; // NaN stays a (quiet) NaN
    } else {
      out[i] = (w + 0x7fff + ((w >>> 16) & 1)) >>> 16; // round to nearest, ties to even
    }
  }
  return out;
}

export function f16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) out[i] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) out[i] = mantissa ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

export function float32ToF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = oneFloat32ToF16(values[i]);
  return out;
}

function oneFloat32ToF16(value: number): number {
  scratch.setFloat32(0, value);
  const w = scratch.getUint32(0);
  const sign = (w >>> 16) & 0x8000;
  const exponent = (w >>> 23) & 0xff;
  const mantissa = w & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → infinity
  if (e <= 0) {
    if (e < -10) return sign; // underflow → signed zero
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rounded = (m + half - 1 + ((m >> shift) & 1)) >> shift;
    return sign | rounded;
  }
  const rounded = (mantissa + 0xfff + ((mantissa >> 13) & 1)) >> 13;
  // A mantissa carry rolls into the exponent, which is the right result.
  return (sign | (e << 10)) + rounded;
}
