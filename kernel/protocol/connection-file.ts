import { readFileSync } from "node:fs";
import { InvalidConnectionFileError } from "./invalid-connection-file-error";

/** The JSON file a Jupyter client writes to tell a kernel where to listen and how to sign. */
export interface ConnectionInfo {
  ip: string;
  transport: "tcp" | "ipc";
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export type SocketName = "shell" | "iopub" | "stdin" | "control" | "hb";

const PORT_FIELDS = ["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"] as const;

export function readConnectionFile(path: string): ConnectionInfo {
  let parsed: Partial<ConnectionInfo>;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<ConnectionInfo>;
  } catch (cause) {
    throw new InvalidConnectionFileError("cannot read the connection file", { path }, { cause });
  }
  for (const field of PORT_FIELDS) {
    if (typeof parsed[field] !== "number") {
      throw new InvalidConnectionFileError(`connection file lacks ${field}`, { path, field });
    }
  }
  const scheme = parsed.signature_scheme ?? "hmac-sha256";
  if (scheme !== "hmac-sha256") {
    throw new InvalidConnectionFileError("only hmac-sha256 signatures are supported", { path, scheme });
  }
  return {
    ...(parsed as ConnectionInfo),
    ip: parsed.ip ?? "127.0.0.1",
    transport: parsed.transport ?? "tcp",
    key: parsed.key ?? "",
    signature_scheme: scheme,
  };
}

export function endpoint(info: ConnectionInfo, socket: SocketName): string {
  const port = info[`${socket}_port`];
  return info.transport === "ipc" ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}
