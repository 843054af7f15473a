import { crc32, deflateSync } from "node:zlib";

/**
 * The kernel logo drawn as a PNG at any size (no binary files in the repository): a blue square
 * with a white "T" and a token-like dot, encoded as 8-bit RGBA.
 */
export function logoPng(size: number): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // leading 0 = filter "none"
    for (let x = 0; x < size; x++) row.set(pixel(x / size, y / size), 1 + x * 4);
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Colour at relative position (u, v) in [0, 1). */
function pixel(u: number, v: number): [number, number, number, number] {
  const white: [number, number, number, number] = [255, 255, 255, 255];
  const bar = v >= 0.2 && v < 0.34 && u >= 0.18 && u < 0.72;
  const stem = u >= 0.38 && u < 0.52 && v >= 0.2 && v < 0.8;
  const dot = (u - 0.72) ** 2 + (v - 0.7) ** 2 < 0.1 ** 2;
  if (bar || stem || dot) return white;
  return [49, 120, 198, 255]; // TypeScript blue
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}
