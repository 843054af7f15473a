import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { NbtestError } from "./nbtest-error";
import { readNotebook, splitLines, writeNotebook, type Notebook, type Output } from "./notebook-file";
import { formatReport } from "./report";
import { runNotebook, type CellResult, type NotebookRun } from "./run-notebook";
import { readSanitizers, type Sanitizer } from "./sanitizers";

const BUILTIN_SANITIZERS = resolve(__dirname, "builtin-sanitizers.cfg");

const USAGE = `usage: tokenlab nbtest [options] NOTEBOOK.ipynb|FOLDER ...
Runs each notebook in a fresh tokenlab kernel and compares fresh outputs with the saved ones (nbval's rules).
  --lax                   compare only cells tagged nbval-check-output (errors still fail)
  --sanitize-with FILE    regex:/replace: pairs applied to text outputs before comparing (nbval format);
                          ${BUILTIN_SANITIZERS} is always applied
  --update, --write       save the fresh outputs into the notebooks instead of failing on differences
  --timeout SECONDS       per cell (default 600)
Cell tags: nbval-skip, nbval-ignore-output, nbval-check-output, raises-exception.`;

interface Options {
  lax: boolean;
  update: boolean;
  timeoutSeconds: number;
  sanitizers: Sanitizer[];
  paths: string[];
}

/** `tokenlab nbtest …`; resolves to the exit code: 0 all passed, 1 a cell failed, 2 bad usage. */
export async function nbtestMain(argv: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof NbtestError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (options.paths.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return argv.includes("--help") ? 0 : 2;
  }
  let failed = false;
  for (const path of options.paths) {
    let ran: NotebookRun;
    let notebook: Notebook;
    try {
      notebook = readNotebook(path);
      checkKernel(path, notebook);
      ran = await runNotebook(path, notebook, options);
    } catch (error) {
      // One broken notebook (unreadable, wrong kernel, kernel did not start) must not hide the others' results.
      process.stdout.write(`${path}: could not run: ${(error as Error).message}\n`);
      failed = true;
      continue;
    }
    // With --update a difference is the point, not a failure; errors still fail.
    const results = options.update ? ran.cells.map((r): CellResult => (r.mismatch ? { ...r, status: "changed" } : r)) : ran.cells;
    failed ||= results.some((result) => result.status === "failed");
    if (options.update) {
      writeNotebook(path, withFreshOutputs(notebook, results, ran.languageInfo));
      process.stdout.write(`${path}: saved the fresh outputs of ${results.filter((r) => r.outputs).length} cells\n`);
    }
    process.stdout.write(`${formatReport(path, results)}\n`);
  }
  return failed ? 1 : 0;
}

function checkKernel(path: string, notebook: Notebook): void {
  const kernel = (notebook.metadata.kernelspec as { name?: unknown } | undefined)?.name;
  if (kernel !== undefined && kernel !== "tokenlab") {
    throw new NbtestError(`it is a notebook for the "${String(kernel)}" kernel, not "tokenlab"`, { path, kernel });
  }
}

function parseArgs(argv: string[]): Options {
  const options: Options = { lax: false, update: false, timeoutSeconds: 600, sanitizers: readSanitizers(BUILTIN_SANITIZERS), paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) throw new NbtestError(`${arg} needs a value`, { arg });
      return argv[++i];
    };
    if (arg === "--lax") options.lax = true;
    else if (arg === "--update" || arg === "--write") options.update = true;
    else if (arg === "--sanitize-with" || arg === "--nbval-sanitize-with") options.sanitizers.push(...readSanitizers(value()));
    else if (arg === "--timeout") {
      options.timeoutSeconds = Number(value());
      if (!(options.timeoutSeconds > 0)) throw new NbtestError("--timeout needs a positive number of seconds", { arg });
    } else if (arg === "--help") return { ...options, paths: [] };
    else if (arg.startsWith("--")) throw new NbtestError(`unknown option ${arg}`, { arg });
    else options.paths.push(...notebookPaths(arg));
  }
  return options;
}

/** A file as given, or the .ipynb files directly inside a folder, sorted. */
function notebookPaths(arg: string): string[] {
  let stats;
  try {
    stats = statSync(arg);
  } catch {
    throw new NbtestError(`no such notebook or folder: ${arg}`, { path: arg });
  }
  if (!stats.isDirectory()) return [arg];
  return readdirSync(arg)
    .filter((name) => name.endsWith(".ipynb"))
    .sort()
    .map((name) => join(arg, name));
}

/**
 * The notebook with every executed cell's outputs and execution count replaced by the fresh ones,
 * and the kernel's language_info, as a frontend saves it (else opening it marks it modified).
 */
function withFreshOutputs(notebook: Notebook, results: readonly CellResult[], languageInfo: Record<string, unknown>): Notebook {
  const cells = notebook.cells.map((cell, index) => {
    const result = results.find((r) => r.index === index);
    if (!result?.outputs) return cell;
    return { ...cell, execution_count: result.executionCount ?? null, outputs: mergeAdjacentStreams(result.outputs).map(toNbformat) };
  });
  return { ...notebook, metadata: { ...notebook.metadata, language_info: languageInfo }, cells };
}

/** What a frontend saves: consecutive writes to one stream become one output. */
function mergeAdjacentStreams(outputs: readonly Output[]): Output[] {
  const merged: Output[] = [];
  for (const output of outputs) {
    const last = merged.at(-1);
    if (output.output_type === "stream" && last?.output_type === "stream" && last.name === output.name) {
      merged[merged.length - 1] = { ...last, text: String(last.text) + String(output.text) };
    } else merged.push(output);
  }
  return merged;
}

function toNbformat(output: Output): Output {
  if (output.output_type === "stream") return { ...output, text: splitLines(String(output.text)) };
  if (output.output_type === "error") return output;
  const data = Object.fromEntries(
    Object.entries(output.data).map(([mime, value]) => [mime, typeof value === "string" && !mime.endsWith("json") ? splitLines(value) : value]),
  );
  return { ...output, data };
}
