import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { InvalidMessageError } from "./invalid-message-error";
import { PROTOCOL_VERSION, type JupyterMessage, type MessageHeader } from "./message";

/**
 * The Jupyter wire format: [identities..., "<IDS|MSG>", hmac, header, parent_header, metadata,
 * content, buffers...], where hmac = HMAC-SHA256(key, header|parent|metadata|content) in hex.
 */
const DELIMITER = "<IDS|MSG>";

export function sign(key: string, parts: readonly Buffer[]): string {
  if (key === "") return "";
  const hmac = createHmac("sha256", key);
  for (const part of parts) hmac.update(part);
  return hmac.digest("hex");
}

export function makeHeader(msgType: string, session: string, username = "tokenlab"): MessageHeader {
  return {
    msg_id: randomUUID(),
    session,
    username,
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

export function encodeMessage(message: JupyterMessage, key: string, identities: readonly Buffer[] = []): Buffer[] {
  const parts = [message.header, message.parent_header, message.metadata, message.content].map((part) =>
    Buffer.from(JSON.stringify(part)),
  );
  return [...identities, Buffer.from(DELIMITER), Buffer.from(sign(key, parts)), ...parts, ...message.buffers];
}

export interface DecodedFrames {
  identities: Buffer[];
  /** Content is whatever JSON the sender put there; the handler checks it per request kind. */
  message: JupyterMessage<unknown>;
}

/** Splits and verifies a multipart message; throws InvalidMessageError rather than trusting it. */
export function decodeMessage(frames: readonly Buffer[], key: string): DecodedFrames {
  const delimiterAt = frames.findIndex((frame) => frame.toString() === DELIMITER);
  if (delimiterAt < 0 || frames.length < delimiterAt + 6) {
    throw new InvalidMessageError("malformed message: no delimiter or too few frames", { frames: frames.length });
  }
  const signature = frames[delimiterAt + 1].toString();
  const parts = frames.slice(delimiterAt + 2, delimiterAt + 6);
  if (key !== "") {
    const expected = Buffer.from(sign(key, parts));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new InvalidMessageError(signature === "" ? "missing signature" : "wrong signature", {
        signature: signature.slice(0, 16),
      });
    }
  }
  const [header, parentHeader, metadata, content] = parts.map((part, index) => parseFrame(part, FRAME_NAMES[index]!));
  return {
    identities: frames.slice(0, delimiterAt),
    message: {
      header: checkHeader(header),
      parent_header: checkParentHeader(parentHeader),
      metadata: checkObject(metadata, "metadata"),
      content,
      buffers: frames.slice(delimiterAt + 6),
    },
  };
}

const FRAME_NAMES = ["header", "parent_header", "metadata", "content"] as const;

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseFrame(frame: Buffer, name: string): unknown {
  try {
    return JSON.parse(frame.toString());
  } catch {
    throw new InvalidMessageError(`malformed message: the ${name} is not JSON`, { [name]: frame.toString().slice(0, 80) });
  }
}

function checkObject(value: unknown, name: string): Record<string, unknown> {
  if (!isJsonObject(value)) throw new InvalidMessageError(`malformed message: the ${name} is not an object`, { [name]: describeValue(value) });
  return value;
}

/**
 * The header names the request that replies, status and outputs are parented to; without a usable
 * msg_id and msg_type nothing could be attributed to it, so such a message is dropped.
 */
function checkHeader(value: unknown): MessageHeader {
  const header = checkObject(value, "header");
  for (const field of ["msg_id", "msg_type"] as const) {
    if (typeof header[field] !== "string" || header[field] === "") {
      throw new InvalidMessageError(`malformed message: header.${field} is not a non-empty string`, { [field]: describeValue(header[field]) });
    }
  }
  return header as unknown as MessageHeader;
}

/** `{}` (no parent) or a header whose msg_id is a string (input_reply is routed by it). */
function checkParentHeader(value: unknown): JupyterMessage["parent_header"] {
  const parent = checkObject(value, "parent_header");
  if ("msg_id" in parent && typeof parent.msg_id !== "string") {
    throw new InvalidMessageError("malformed message: parent_header.msg_id is not a string", { msg_id: describeValue(parent.msg_id) });
  }
  return parent as JupyterMessage["parent_header"];
}

/** A short, safe rendering of an unexpected value for error context and logs. */
export function describeValue(value: unknown): string {
  return value === undefined ? "missing" : JSON.stringify(value).slice(0, 80);
}
