import assert from "node:assert/strict";
import { codePointOffset, utf16Offset } from "../../../kernel/handler/cursor-position";

describe("cursor positions in code points and UTF-16 units", function () {
  const code = 'a = "😀";\nb'; // the emoji is one code point, two UTF-16 units

  it("converts Jupyter's code-point cursor to a UTF-16 offset and back", function () {
    const codePoints = [...code];
    for (let cursor = 0; cursor <= codePoints.length; cursor++) {
      const utf16 = utf16Offset(code, cursor);
      assert.equal(utf16, codePoints.slice(0, cursor).join("").length);
      assert.equal(codePointOffset(code, utf16), cursor);
    }
  });

  it("puts a cursor past the end, or none, at the end of the code", function () {
    assert.equal(utf16Offset(code, 1000), code.length);
    assert.equal(utf16Offset(code, undefined), code.length);
    assert.equal(codePointOffset(code, 1000), [...code].length);
    assert.equal(utf16Offset("", 3), 0);
  });
});
