import assert from "node:assert/strict";
import { JUPYTER_DISPLAY } from "../../lib/display/mime-bundle";
import { Table } from "../../lib/display/table";

describe("Table", () => {
  const table = new Table({
    title: "Init comparison",
    columns: ["init", "steps", "final loss"],
    rows: [
      ["from-token", 12, 1.23456],
      ["random <b>", 130, null],
    ],
  });

  it("aligns plain text: text left, numbers right, 4 significant digits", () => {
    assert.equal(
      table[JUPYTER_DISPLAY]()["text/plain"],
      [
        "Init comparison",
        "init        steps  final loss",
        "----------  -----  ----------",
        "from-token     12       1.235",
        "random <b>    130",
      ].join("\n"),
    );
  });

  it("escapes every cell and header in HTML and right-aligns numeric columns", () => {
    const html = table[JUPYTER_DISPLAY]()["text/html"] as string;
    assert.ok(html.includes("<td>random &lt;b&gt;</td>"));
    assert.ok(!html.includes("<b>"));
    assert.ok(html.includes('<td style="text-align:right">130</td>'));
    assert.ok(html.includes("<caption>Init comparison</caption>"));
    const tricky = new Table({ columns: ['a"<&'], rows: [["'x'"]] }).toHTML();
    assert.ok(tricky.includes("<th>a&quot;&lt;&amp;</th>") && tricky.includes("<td>&#39;x&#39;</td>"));
  });

  it("builds columns from records in first-seen order", () => {
    const fromRecords = Table.fromRecords([{ a: 1 }, { b: "x", a: 2 }]);
    assert.deepEqual(fromRecords.columns, ["a", "b"]);
    assert.deepEqual(fromRecords.rows, [[1, undefined], [2, "x"]]);
  });

  it("rejects rows of the wrong width, naming the row", () => {
    assert.throws(() => new Table({ columns: ["a", "b"], rows: [["x", 1], ["y"]] }), {
      name: "DisplayError",
      message: "Table row 1 has 1 cells but there are 2 columns",
    });
  });
});
