import assert from "node:assert/strict";
import { OutputPublisher } from "../../../kernel/display/output-publisher";
import type { MessageHeader, OutgoingMessage } from "../../../kernel/protocol/message";
import { lineChart } from "../../../lib/display/charts";

const LIBRARY = /<script type="text\/plain" data-tokenlab-once="plotly\.js"[^>]*>[A-Za-z0-9+/=]{1000,}<\/script>/;

function header(id: string): MessageHeader {
  return { msg_id: id, session: "s", username: "u", date: "", msg_type: "execute_request", version: "5.3" };
}

describe("OutputPublisher: plotly.js once per kernel session", () => {
  let sent: OutgoingMessage[];
  let publisher: OutputPublisher;
  const chart = (n: number) => lineChart([{ name: `series ${n}`, y: [n, n + 1] }], { title: `chart ${n}` });
  /** Whether each display/result sent since `from` carries plotly.js. */
  const carried = (from = 0) => sent.slice(from).filter((m) => m.content.data).map((m) => LIBRARY.test((m.content.data as Record<string, string>)["text/html"]));

  beforeEach(() => {
    sent = [];
    publisher = new OutputPublisher((message) => sent.push(message));
  });

  it("ships plotly.js with the first chart only; later charts, in the same cell or others, keep the rest of their HTML", () => {
    publisher.executionStarted(header("a"), "cell-a");
    publisher.display(chart(1));
    publisher.display(chart(2));
    publisher.executionStarted(header("b"), "cell-b");
    publisher.executeResult(1, chart(3));
    assert.deepEqual(carried(), [true, false, false]);
    const last = (sent[2].content.data as Record<string, string>)["text/html"];
    assert.match(last, /data-tokenlab-plot="[0-9a-f]{16}"/);
    assert.equal(last, (chart(3).toHTML()).replace(LIBRARY, "").replace(/^\n/, ""));
  });

  it("ships it again when the cell that carried it runs again or clears its output", () => {
    publisher.executionStarted(header("a"), "cell-a");
    publisher.display(chart(1));
    publisher.executionStarted(header("b"), "cell-b");
    publisher.display(chart(2));
    publisher.executionStarted(header("a2"), "cell-a");
    publisher.display(chart(3));
    publisher.clearOutput();
    publisher.display(chart(4));
    publisher.executionStarted(header("c"), undefined);
    publisher.display(chart(5));
    assert.deepEqual(carried(), [true, false, true, true, false]);
  });

  it("keeps it in updates of the display that carries it (a live chart's final frame), not in other displays", () => {
    publisher.executionStarted(header("a"), undefined);
    publisher.display(chart(1), { id: "live" });
    publisher.display(chart(2), { id: "live", update: true });
    publisher.display(chart(3), { id: "other" });
    assert.deepEqual(carried(), [true, true, false]);
  });
});
