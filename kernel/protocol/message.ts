/** Jupyter messaging protocol 5.3 types shared by the kernel and the test client. */
export const PROTOCOL_VERSION = "5.3";

export type Channel = "shell" | "control" | "stdin" | "iopub";

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface JupyterMessage<Content = Record<string, unknown>> {
  header: MessageHeader;
  /** The request this message answers; `{}` when it answers none. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: Record<string, unknown>;
  content: Content;
  buffers: Buffer[];
}

/** What a sender supplies; the header is made at send time. */
export interface OutgoingMessage {
  channel: Channel;
  msgType: string;
  content: Record<string, unknown>;
  parent?: MessageHeader | Record<string, never>;
  metadata?: Record<string, unknown>;
  buffers?: Buffer[];
  /** ROUTER identities of the requester (shell/control/stdin); iopub uses the topic instead. */
  identities?: Buffer[];
  /** The header's msg_id, when the sender must recognize the reply (input_request); else a fresh one. */
  msgId?: string;
}

export function parentMsgId(message: JupyterMessage<unknown>): string | undefined {
  return (message.parent_header as Partial<MessageHeader>).msg_id;
}
