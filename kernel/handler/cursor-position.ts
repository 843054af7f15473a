/**
 * Jupyter counts cursor positions in unicode code points, TypeScript's language service in UTF-16
 * code units; they differ after any character outside the BMP (emoji, rare CJK). A position past
 * the end, or none (jupyter_client's "at the end"), is the end of the code.
 */
export function utf16Offset(code: string, codePoints: number | undefined): number {
  let offset = 0;
  let remaining = codePoints ?? Infinity;
  for (const char of code) {
    if (remaining-- <= 0) break;
    offset += char.length;
  }
  return offset;
}

/** The code-point position of a UTF-16 offset into `code` (at most the length of the code). */
export function codePointOffset(code: string, utf16: number): number {
  return [...code.slice(0, Math.max(0, utf16))].length;
}
