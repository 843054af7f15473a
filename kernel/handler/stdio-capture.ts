/**
 * Sends what cells write to process.stdout / process.stderr (console.log included) to the
 * frontend as iopub `stream` messages. The kernel's own logs bypass this by writing to fd 2.
 */
export function captureStdio(stream: (name: "stdout" | "stderr", text: string) => void): () => void {
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const name of ["stdout", "stderr"] as const) {
    const target = process[name];
    target.write = ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown) => {
      stream(name, typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
      if (typeof done === "function") process.nextTick(done as () => void);
      return true;
    }) as typeof target.write;
  }
  return () => {
    process.stdout.write = originals.stdout;
    process.stderr.write = originals.stderr;
  };
}
