/**
 * `npm run bench -- --scale [--shape NAME] [--steps a,b,...]`: tokenlab on real-size shapes
 * (shapes.ts), beside PyTorch on the same checkpoint and tokens. Prints one JSON object per shape as
 * it finishes: tokenlab's load, addTokens (3 tokens), forward (1 × 256), new-rows training step,
 * gradual step (top block unfrozen), save, then the rest of the issue's user flow (every init
 * strategy, initReport, prepareData, a full fine-tuning step, generate, evaluate, plotDrift, save
 * and reload) — each with its peak RSS, or {error}; PyTorch's load, forward and new-rows step at one
 * thread and at all cores, its BLAS, and the ratios against its faster setting (refused on a
 * reference BLAS). `--steps` runs only those tokenlab steps (load and addTokens always), and PyTorch
 * only with `--torch`. tokenlab loads with keepBf16 "auto" (loadModel's default: 16-bit above 2 GiB
 * of float32 weights); `--keep-bf16` / `--no-keep-bf16` force it on / off.
 *
 * tokenlab runs in child processes (shape-steps.ts), PyTorch in others, one at a time: a step that
 * fails or crashes (wasm out of memory) becomes {error} in the JSON, a fresh child resumes with the
 * steps after it, and the machine's memory holds one side at a time. Checkpoints are random BF16 weights
 * cached under bench/out/scale-cache (random-checkpoint.ts).
 * `--kernel` instead runs notebook 05 on each shape's checkpoint in the tokenlab kernel, through
 * nbclient (kernel-notebook.ts).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { nativeBlasStatus } from "../../lib/backend/native-blas";
import { HfTokenizer } from "../../lib/hf/tokenizer";
import type { KeepBf16 } from "../../lib/models/keep-bf16";
import { ratioRefusal, startTorch, torchThreadSettings, type BlasReport } from "../torch-process";
import { kernelNotebookFigures } from "./kernel-notebook";
import { randomCheckpoint } from "./random-checkpoint";
import { parameterCount, SCALE_SHAPES, type ScaleShape } from "./shapes";
import type { ShapeJob } from "./shape-steps";
import { STEP_NAMES, type StepName } from "./step-names";

const OUT_DIR = path.join(__dirname, "../out");
const CACHE_DIR = path.join(OUT_DIR, "scale-cache");
const SEQUENCE = 256;
const NEW_TOKENS = ["<bench_think>", "<bench_sep>", "<bench_tool>"];
const TORCH_RUNS = 2;
/** Plain English the batch is tokenized from (repeated to fill the sequence). */
const TEXT =
  "Researchers add new tokens to a pretrained language model when a task needs markers the vocabulary " +
  "lacks: chat roles, reasoning spans, tool calls, separators. The new rows start from a sensible guess " +
  "and are trained while the rest of the model stays frozen, so the model keeps what it already knows. ";

type StepFigures = Record<string, unknown>;

export async function runScaleBench(argv: readonly string[]): Promise<void> {
  const shapes = selectShapes(argv);
  const steps = selectSteps(argv);
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  // loadModel's keepBf16: "auto" (its default), or forced by --keep-bf16 / --no-keep-bf16.
  const keepBf16: KeepBf16 = argv.includes("--keep-bf16") ? true : argv.includes("--no-keep-bf16") ? false : "auto";
  for (const shape of shapes) {
    const figures = argv.includes("--kernel") ? await notebookInKernel(shape) : await benchShape(shape, steps, keepBf16);
    console.log(JSON.stringify(figures, null, 2));
  }
}

/** `--kernel`: notebook 05 on the shape's checkpoint, run by nbclient in the tokenlab kernel (kernel-notebook.ts). */
async function notebookInKernel(shape: ScaleShape): Promise<Record<string, unknown>> {
  const summary = { shape: shape.name, parameters: parameterCount(shape), load_average: os.loadavg().map((l) => Number(l.toFixed(2))), tokenlab_matmul: nativeBlasStatus() };
  let dir: string;
  try {
    dir = randomCheckpoint(shape, CACHE_DIR);
  } catch (error) {
    return { ...summary, error: `writing the checkpoint failed: ${String(error)}` };
  }
  return { ...summary, notebook: "notebooks/05-bring-your-own-model.ipynb", kernel: await kernelNotebookFigures(dir) };
}

/** The tokenlab steps to run: all of them, or the `--steps` list (then without PyTorch, unless `--torch`). */
function selectSteps(argv: readonly string[]): { steps: readonly StepName[]; torch: boolean } {
  const at = argv.indexOf("--steps");
  if (at < 0) return { steps: STEP_NAMES, torch: true };
  const asked = (argv[at + 1] ?? "").split(",").filter((s) => s !== "");
  const unknown = asked.filter((s) => !(STEP_NAMES as readonly string[]).includes(s));
  if (asked.length === 0 || unknown.length > 0) throw new Error(`unknown --steps ${unknown.join(",") || "(missing)"}; steps: ${STEP_NAMES.join(", ")}`);
  return { steps: STEP_NAMES.filter((s) => s === "load" || s === "addTokens" || asked.includes(s)), torch: argv.includes("--torch") };
}

function selectShapes(argv: readonly string[]): readonly ScaleShape[] {
  const at = argv.indexOf("--shape");
  if (at < 0) return SCALE_SHAPES;
  const name = argv[at + 1];
  const shape = SCALE_SHAPES.find((s) => s.name === name);
  if (shape === undefined) throw new Error(`unknown --shape ${name ?? "(missing)"}; shapes: ${SCALE_SHAPES.map((s) => s.name).join(", ")}`);
  return [shape];
}

async function benchShape(shape: ScaleShape, selection: { steps: readonly StepName[]; torch: boolean }, keepBf16: KeepBf16): Promise<Record<string, unknown>> {
  const summary = {
    shape: shape.name,
    like: shape.like,
    architecture: shape.architecture,
    parameters: parameterCount(shape),
    rows: shape.dims.vocab,
    hidden: shape.dims.hidden,
    layers: shape.dims.layers,
    dtype: "BF16",
    tied: true,
    keep_bf16: keepBf16,
    batch: [1, SEQUENCE],
    load_average: os.loadavg().map((l) => Number(l.toFixed(2))),
    tokenlab_matmul: nativeBlasStatus(),
  };
  let dir: string;
  const writeStart = performance.now();
  try {
    dir = randomCheckpoint(shape, CACHE_DIR);
  } catch (error) {
    return { ...summary, error: `writing the checkpoint failed: ${String(error)}` };
  }
  const checkpointSeconds = Number(((performance.now() - writeStart) / 1000).toFixed(1));
  const batch = buildBatch(HfTokenizer.fromDirectory(dir));
  const tokenlab = await tokenlabFigures({
    dir,
    saveDir: path.join(CACHE_DIR, `${shape.name}.saved`),
    steps: [...selection.steps],
    batch: { inputIds: batch.inputIds, labels: batch.labels },
    newTokens: NEW_TOKENS,
    expectedNewIds: batch.newIds,
    text: TEXT,
    keepBf16,
  });
  const tokenlabSummary = { ...summary, tokenizer_size: batch.tokenizerSize, tokenlab: { ...tokenlab.steps, peak_rss_mb: tokenlab.peakRssMb } };
  if (!selection.torch) return tokenlabSummary;
  const torch = await torchFigures(dir, batch);
  const tokenlabSeconds = (step: StepName) => tokenlab.steps[step]?.seconds as number | undefined;
  const bestSeconds = (key: "forward_s" | "new_rows_step_s") => {
    const values = Object.values(torch.settings)
      .map((s) => s[key])
      .filter((v): v is number => typeof v === "number");
    return values.length > 0 ? Math.min(...values) : undefined;
  };
  const ratio = (torchSeconds: number | undefined, tokenlabSeconds: number | undefined) =>
    torchSeconds !== undefined && tokenlabSeconds !== undefined ? Number((torchSeconds / tokenlabSeconds).toFixed(3)) : null;
  const refusal = torch.blas === undefined ? "PyTorch did not start" : ratioRefusal(torch.blas);
  return {
    ...tokenlabSummary,
    checkpoint: { dir: path.relative(process.cwd(), dir), ready_s: checkpointSeconds },
    torch: {
      version: torch.version,
      blas: torch.blas,
      ...torch.settings,
      best: { forward_s: bestSeconds("forward_s"), new_rows_step_s: bestSeconds("new_rows_step_s") },
    },
    ...(refusal === undefined
      ? {
          forward_ratio: ratio(bestSeconds("forward_s"), tokenlabSeconds("forward")),
          new_rows_step_ratio: ratio(bestSeconds("new_rows_step_s"), tokenlabSeconds("newRowsStep")),
        }
      : { ratio_refused: refusal }),
  };
}

/**
 * One row of SEQUENCE inputs and its next-token labels: TEXT tokenized by the base tokenizer with a
 * new token every 16 positions. The new tokens get ids size, size + 1, ... — where addTokens puts
 * them (the child checks) — so PyTorch sees the same ids without tokenlab having to load first.
 */
function buildBatch(tokenizer: HfTokenizer) {
  const newIds = NEW_TOKENS.map((_, i) => tokenizer.size + i);
  const textIds = tokenizer.encode(TEXT);
  const stream = Array.from({ length: SEQUENCE + 1 }, (_, t) => (t % 16 === 15 ? newIds[(t >> 4) % newIds.length] : textIds[t % textIds.length]));
  return { inputIds: stream.slice(0, SEQUENCE), labels: stream.slice(1), newIds, tokenizerSize: tokenizer.size };
}

/** Runs shape-steps.ts children until every step has a figure or an error. */
async function tokenlabFigures(job: ShapeJob): Promise<{ steps: Partial<Record<StepName, StepFigures>>; peakRssMb: number }> {
  const wanted = job.steps;
  const steps: Partial<Record<StepName, StepFigures>> = {};
  let peakRssMb = 0;
  const jobFile = path.join(OUT_DIR, `scale-job-${process.pid}.json`);
  try {
    while (wanted.some((s) => steps[s] === undefined)) {
      const remaining = wanted.filter((s) => steps[s] === undefined);
      fs.writeFileSync(jobFile, JSON.stringify({ ...job, steps: remaining }));
      const child = await runChild(jobFile);
      peakRssMb = Math.max(peakRssMb, child.peakRssMb);
      const reported = new Set<StepName>();
      let recorded = 0;
      for (const line of child.lines) {
        reported.add(line.step);
        if (steps[line.step] === undefined) recorded++;
        steps[line.step] ??= line.figures; // load and addTokens run again in a resumed child; the first figures stand
        console.error(`tokenlab ${line.step}: ${JSON.stringify(line.figures)}`); // progress: a shape takes minutes
        peakRssMb = Math.max(peakRssMb, line.figures.peak_rss_mb as number);
      }
      const failedPrerequisite = (["load", "addTokens"] as const).find((s) => steps[s]?.error !== undefined);
      if (failedPrerequisite !== undefined) {
        for (const s of wanted) steps[s] ??= { error: `not run: ${failedPrerequisite} failed` };
        continue;
      }
      // The step running when the child ended is the first one it did not report (load and addTokens come first).
      const order: StepName[] = ["load", "addTokens", ...remaining.filter((s) => s !== "load" && s !== "addTokens")];
      const failed = order.find((s) => !reported.has(s));
      // A child that ends cleanly after reporting a step's error leaves the next step to a fresh process.
      if (failed === undefined || (child.crash === undefined && recorded > 0)) continue;
      const error = child.crash ?? "the child process ended without reporting this step";
      if (failed === "load" || failed === "addTokens") {
        // Every later step needs it; when it had succeeded in an earlier child, retrying again might never end.
        const resumed = steps[failed] !== undefined;
        steps[failed] ??= { error };
        for (const s of wanted) steps[s] ??= { error: resumed ? `not run: ${failed} failed when resumed: ${error}` : `not run: ${failed} failed` };
      } else {
        steps[failed] = { error };
      }
    }
  } finally {
    fs.rmSync(jobFile, { force: true });
  }
  return { steps, peakRssMb };
}

/**
 * One child: its JSON lines, its peak RSS (polled from /proc as well, since a crashed child reports
 * nothing) and, when it died, a short reason taken from its stderr — not the ~20 KB of minified
 * tfjs-backend-wasm source emscripten prints on an abort.
 */
async function runChild(jobFile: string): Promise<{ lines: { step: StepName; figures: StepFigures }[]; peakRssMb: number; crash?: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "shape-steps.ts"), jobFile], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr = (stderr + chunk).slice(-200_000)));
  let polledKb = 0;
  const poll = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (match) polledKb = Math.max(polledKb, Number(match[1]));
    } catch {
      // the child has just ended
    }
  }, 250);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const lines: { step: StepName; figures: StepFigures }[] = [];
  for await (const line of readline.createInterface({ input: child.stdout! })) {
    const { step, ...figures } = JSON.parse(line);
    lines.push({ step, figures });
  }
  const { code, signal } = await exit;
  clearInterval(poll);
  const crash = code === 0 ? undefined : `${crashReason(stderr)} (${signal ?? `exit code ${code}`})`;
  return { lines, peakRssMb: Math.round(polledKb / 1024), crash };
}

function crashReason(stderr: string): string {
  const reasons = stderr
    .split("\n")
    .filter((line) => /^\s*(\w*Error\b|Aborted\(|FATAL|#)/.test(line))
    .map((line) => line.trim().slice(0, 300));
  return reasons.length > 0 ? [...new Set(reasons)].slice(0, 4).join(" | ") : stderr.trim().slice(-300) || "no output";
}

/** PyTorch's load, forward and new-rows step at each thread setting, one process at a time. */
async function torchFigures(dir: string, batch: ReturnType<typeof buildBatch>) {
  const settings: Record<string, Record<string, unknown>> = {};
  let blas: BlasReport | undefined;
  let version: string | undefined;
  for (const threads of torchThreadSettings()) {
    try {
      const torch = await startTorch({ dir, ids: [batch.inputIds], labels: [batch.labels], new_ids: batch.newIds }, threads);
      blas ??= torch.info.blas;
      version ??= torch.info.torch_version;
      try {
        let peakRssMb = torch.info.peak_rss_mb;
        const runs = async (command: string) => {
          const seconds: number[] = [];
          for (let i = 0; i < TORCH_RUNS; i++) {
            const answer = await torch.ask(command);
            if (answer.error !== undefined) throw new Error(answer.error);
            seconds.push(Number((answer.ms / 1000).toFixed(3)));
            peakRssMb = answer.peak_rss_mb;
          }
          return seconds;
        };
        const forward = await runs("forward");
        const newRows = await runs("new-rows-step");
        settings[`${threads}_threads`] = {
          load_s: Number((torch.info.load_ms / 1000).toFixed(3)),
          forward_s: Math.min(...forward),
          forward_runs_s: forward,
          new_rows_step_s: Math.min(...newRows),
          new_rows_step_runs_s: newRows,
          matmul_gflops: torch.info.blas.matmul_gflops,
          peak_rss_mb: peakRssMb,
        };
      } finally {
        torch.close();
      }
    } catch (error) {
      settings[`${threads}_threads`] = { error: String(error) };
    }
    console.error(`torch ${threads} thread(s): ${JSON.stringify(settings[`${threads}_threads`])}`);
  }
  return { settings, blas, version };
}
