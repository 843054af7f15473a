import { spawnSync } from "node:child_process";

/**
 * Validates a figure with the Python `plotly` package (Debian python3-plotly), an implementation
 * independent of ours: `plotly.io.from_json` rejects unknown trace types and attributes.
 * Returns "" when valid, else Python's error text.
 */
export function pythonPlotlyErrors(figure: { data: unknown[]; layout: unknown }): string {
  const result = spawnSync(
    "/usr/bin/python3",
    ["-c", "import plotly.io as pio, sys; pio.from_json(sys.stdin.read(), skip_invalid=False)"],
    { input: JSON.stringify({ data: figure.data, layout: figure.layout }), encoding: "utf8" },
  );
  if (result.error) throw result.error;
  return result.status === 0 ? "" : result.stderr;
}
