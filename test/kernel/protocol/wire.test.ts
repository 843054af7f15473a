import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { InvalidMessageError } from "../../../kernel/protocol/invalid-message-error";
import type { JupyterMessage } from "../../../kernel/protocol/message";
import { decodeMessage, encodeMessage, makeHeader, sign } from "../../../kernel/protocol/wire";

/** jupyter_client's own Session signs the same four frames: the independent reference. */
function pythonSignature(key: string, frames: Buffer[]): string {
  const script = [
    "import sys, json",
    "from jupyter_client.session import Session",
    "key, frames = json.loads(sys.stdin.read())",
    "print(Session(key=key.encode()).sign([f.encode() for f in frames]).decode())",
  ].join("\n");
  return execFileSync("/usr/bin/python3", ["-c", script], {
    input: JSON.stringify([key, frames.map((frame) => frame.toString())]),
    encoding: "utf8",
  }).trim();
}

function sampleMessage(): JupyterMessage {
  return {
    header: makeHeader("execute_request", "session-1"), parent_header: {}, metadata: { tag: "ü" },
    content: { code: "1 + 1" }, buffers: [Buffer.from([1, 2, 3])],
  };
}

describe("Jupyter wire format", function () {
  it("signs header|parent|metadata|content exactly as jupyter_client does", function () {
    const frames = encodeMessage(sampleMessage(), "secret-key", [Buffer.from("client-id")]);
    assert.equal(frames[0].toString(), "client-id");
    assert.equal(frames[1].toString(), "<IDS|MSG>");
    assert.equal(frames[2].toString(), pythonSignature("secret-key", frames.slice(3, 7)));
    assert.equal(sign("", frames.slice(3, 7)), "", "an empty key means unsigned messages");
  });

  it("decodes what it encodes, identities and buffers included", function () {
    const message = sampleMessage();
    const decoded = decodeMessage(encodeMessage(message, "k", [Buffer.from("a"), Buffer.from("b")]), "k");
    assert.deepEqual(decoded.identities.map(String), ["a", "b"]);
    assert.deepEqual(decoded.message, message);
  });

  it("rejects a wrong, missing or foreign-key signature, and a frame list without delimiter", function () {
    const frames = encodeMessage(sampleMessage(), "right-key");
    assert.throws(() => decodeMessage(frames, "wrong-key"), InvalidMessageError);
    const tampered = [...frames];
    tampered[2] = Buffer.from(tampered[2].toString().replace("execute_request", "shutdown_request"));
    assert.throws(() => decodeMessage(tampered, "right-key"), /wrong signature/);
    const unsigned = [...frames];
    unsigned[1] = Buffer.from("");
    assert.throws(() => decodeMessage(unsigned, "right-key"), /missing signature/);
    assert.throws(() => decodeMessage(frames.slice(1), "right-key"), /malformed/);
  });

  it("rejects a correctly signed message whose header, parent header or metadata cannot be attributed", function () {
    const malformed = (header: unknown, parent: unknown = {}, metadata: unknown = {}) => {
      const parts = [header, parent, metadata, {}].map((part) => Buffer.from(JSON.stringify(part)));
      return () => decodeMessage([Buffer.from("<IDS|MSG>"), Buffer.from(sign("k", parts)), ...parts], "k");
    };
    assert.throws(malformed(null), (error: unknown) => error instanceof InvalidMessageError && /the header is not an object/.test(error.message));
    assert.throws(malformed({ msg_id: "m" }), /header\.msg_type is not a non-empty string/);
    assert.throws(malformed({ msg_id: "", msg_type: "kernel_info_request" }), /header\.msg_id/);
    assert.throws(malformed(makeHeader("kernel_info_request", "s"), null), /the parent_header is not an object/);
    assert.throws(malformed(makeHeader("kernel_info_request", "s"), { msg_id: 3 }), /parent_header\.msg_id is not a string/);
    assert.throws(malformed(makeHeader("kernel_info_request", "s"), {}, []), /the metadata is not an object/);
    assert.doesNotThrow(malformed(makeHeader("kernel_info_request", "s")));
  });
});
