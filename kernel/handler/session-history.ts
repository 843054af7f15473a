/** In-memory history of this kernel session (history_request: tail, range, search). */
export interface HistoryEntry {
  line: number;
  input: string;
  output: string | null;
}

export type HistoryRow = [number, number, string] | [number, number, [string, string | null]];

export interface HistoryQuery {
  hist_access_type?: "tail" | "range" | "search";
  output?: boolean;
  n?: number;
  session?: number;
  start?: number;
  stop?: number;
  pattern?: string;
  unique?: boolean;
}

/** The session number reported in rows; earlier sessions are not persisted. */
export const CURRENT_SESSION = 1;

export class SessionHistory {
  private readonly entries: HistoryEntry[] = [];

  add(line: number, input: string): void {
    this.entries.push({ line, input, output: null });
  }

  setOutput(line: number, output: string): void {
    const entry = this.entries.find((candidate) => candidate.line === line);
    if (entry) entry.output = output;
  }

  query(query: HistoryQuery): HistoryRow[] {
    return this.select(query).map((entry) =>
      query.output ? [CURRENT_SESSION, entry.line, [entry.input, entry.output]] : [CURRENT_SESSION, entry.line, entry.input],
    );
  }

  private select(query: HistoryQuery): HistoryEntry[] {
    switch (query.hist_access_type ?? "tail") {
      case "tail":
        return this.entries.slice(-(query.n ?? 10));
      case "range": {
        // session 0 or a negative (relative) session other than the current has nothing stored.
        const session = query.session ?? 0;
        if (session !== 0 && session !== CURRENT_SESSION) return [];
        const start = query.start ?? 1;
        const stop = query.stop ?? Infinity;
        return this.entries.filter((entry) => entry.line >= start && entry.line < stop);
      }
      case "search": {
        const matcher = globToRegExp(query.pattern ?? "*");
        let found = this.entries.filter((entry) => matcher.test(entry.input));
        if (query.unique) {
          const seen = new Set<string>();
          found = found.reverse().filter((entry) => !seen.has(entry.input) && seen.add(entry.input)).reverse();
        }
        return query.n ? found.slice(-query.n) : found;
      }
    }
  }
}

/** IPython history patterns are globs: * any run, ? one character. */
function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${escaped}$`);
}
