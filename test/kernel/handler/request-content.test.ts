import assert from "node:assert/strict";
import { InvalidRequestError } from "../../../kernel/handler/invalid-request-error";
import { requestContent } from "../../../kernel/handler/request-content";

describe("request content checks", function () {
  it("passes valid content through, optional fields absent or null as undefined", function () {
    assert.deepEqual(requestContent("execute_request", { code: "1", silent: true, store_history: null, extra: 1 }), {
      code: "1", silent: true, store_history: undefined, allow_stdin: undefined, stop_on_error: undefined, user_expressions: undefined,
    });
    assert.deepEqual(requestContent("complete_request", { code: "Ma", cursor_pos: null }), { code: "Ma", cursor_pos: undefined });
    assert.equal(requestContent("history_request", { hist_access_type: "search", pattern: "a*" }).hist_access_type, "search");
  });

  it("names the request kind, the field, what it must be and what came", function () {
    const cases: Array<[Parameters<typeof requestContent>[0], unknown, string]> = [
      ["execute_request", {}, "execute_request: content.code must be a string (got missing)"],
      ["execute_request", { code: 42 }, "execute_request: content.code must be a string (got 42)"],
      ["execute_request", null, "execute_request: the content is not an object (got null)"],
      ["is_complete_request", { code: 7 }, "is_complete_request: content.code must be a string (got 7)"],
      ["complete_request", { code: "", cursor_pos: 1.5 }, "complete_request: content.cursor_pos must be a non-negative integer (got 1.5)"],
      ["history_request", { n: "3" }, 'history_request: content.n must be an integer (got "3")'],
      ["history_request", { hist_access_type: "all" }, 'history_request: content.hist_access_type must be one of "tail", "range", "search" (got "all")'],
      ["comm_msg", { comm_id: "c", data: [1] }, "comm_msg: content.data must be an object (got [1])"],
      ["input_reply", { value: false }, "input_reply: content.value must be a string (got false)"],
    ];
    for (const [msgType, content, message] of cases) {
      assert.throws(() => requestContent(msgType, content), (error: unknown) => error instanceof InvalidRequestError && error.message === message);
    }
  });
});
