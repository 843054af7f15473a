import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { InvalidSignatureError } from "./invalid-signature-error";
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
  message: JupyterMessage;
}

/** Splits and verifies a multipart message; throws InvalidSignatureError rather than trusting it. */
export function decodeMessage(frames: readonly Buffer[], key: string): DecodedFrames {
  const delimiterAt = frames.findIndex((frame) => frame.toString() === DELIMITER);
  if (delimiterAt < 0 || frames.length < delimiterAt + 6) {
    throw new InvalidSignatureError("malformed message: no delimiter or too few frames", { frames: frames.length });
  }
  const signature = frames[delimiterAt + 1].toString();
  const parts = frames.slice(delimiterAt + 2, delimiterAt + 6);
  if (key !== "") {
    const expected = Buffer.from(sign(key, parts));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new InvalidSignatureError(signature === "" ? "missing signature" : "wrong signature", {
        signature: signature.slice(0, 16),
      });
    }
  }
  const [header, parentHeader, metadata, content] = parts.map((part) => JSON.parse(part.toString()) as unknown);
  return {
    identities: frames.slice(0, delimiterAt),
    message: {
      header: header as MessageHeader,
      parent_header: parentHeader as JupyterMessage["parent_header"],
      metadata: metadata as Record<string, unknown>,
      content: content as Record<string, unknown>,
      buffers: frames.slice(delimiterAt + 6),
    },
  };
}
