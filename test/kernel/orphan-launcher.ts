// Test helper: starts a kernel through KernelClient, prints the kernel's pid, then waits to be
// killed, so a test can check that the kernel exits once its launcher is gone.
import { KernelClient } from "../../kernel/client/kernel-client";

void (async () => {
  const argv = JSON.parse(process.argv[2]) as string[];
  const client = await KernelClient.start({ argv });
  process.stdout.write(`${client.process.pid}\n`);
  setInterval(() => undefined, 1000);
})();
