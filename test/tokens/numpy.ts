import { execFileSync } from "node:child_process";

/**
 * Runs `code` in Debian's python3 with numpy imported as np and the JSON `input` bound to `data`;
 * the code assigns `result`, which comes back as JSON. The independent reference for formulas.
 */
export function numpy(code: string, input: unknown): any {
  const script = `import json, sys\nimport numpy as np\ndata = json.load(sys.stdin)\n${code}\njson.dump(result, sys.stdout)`;
  const output = execFileSync("/usr/bin/python3", ["-c", script], { input: JSON.stringify(input), maxBuffer: 1 << 28 });
  return JSON.parse(output.toString("utf8"));
}
