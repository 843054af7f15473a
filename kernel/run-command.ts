import { resolve } from "node:path";
import { readExperimentFile } from "../lib/experiment/experiment";
import { ExperimentError } from "../lib/experiment/experiment-error";
import type { HeadlessOutcome } from "../lib/experiment/run-experiment";
import { TokenlabError } from "../lib/errors/tokenlab-error";

export const RUN_USAGE = `usage:
  tokenlab run EXPERIMENT.yaml [--output DIR]   train and evaluate as the file says (default output: EXPERIMENT.run/)
  tokenlab run --resume DIR                     continue a run that Ctrl-C stopped`;

/** Exit codes: 0 done, 1 the run failed, 2 a bad experiment or command line (nothing written), 130 interrupted (state saved). */
export async function runCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`${args}\n${RUN_USAGE}\n`);
    return 2;
  }
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      process.stderr.write("\nstopped at once; no state saved for this segment\n");
      process.exit(130);
    }
    process.stderr.write("\ninterrupt: stopping after the current step and saving the state (Ctrl-C again to quit at once)\n");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    const options = { signal: controller.signal, progress: process.stderr };
    let outcome: HeadlessOutcome;
    if ("resume" in args) {
      outcome = await headless().resumeExperiment(resolve(args.resume), options);
    } else {
      const experiment = readExperimentFile(args.file); // checked before tfjs and the models load: a typo is reported at once
      outcome = await headless().runExperiment(args.output ? { ...experiment, output: resolve(args.output) } : experiment, options);
    }
    process.stderr.write(`${outcome.message}\n`);
    return outcome.status === "interrupted" || outcome.status === "stopped" ? 130 : 0;
  } catch (error) {
    if (!(error instanceof TokenlabError)) throw error;
    process.stderr.write(`tokenlab run: ${error.message}\n`);
    return error instanceof ExperimentError ? 2 : 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

function headless(): typeof import("../lib/experiment/run-experiment") {
  return require("../lib/experiment/run-experiment") as typeof import("../lib/experiment/run-experiment");
}

function parseArgs(argv: string[]): { file: string; output?: string } | { resume: string } | string {
  if (argv[0] === "--resume") return argv.length === 2 ? { resume: argv[1] } : "--resume takes one run folder";
  const [file, ...rest] = argv;
  if (!file || file.startsWith("-")) return "run needs an experiment file";
  if (rest.length === 0) return { file };
  if (rest[0] === "--output" && rest.length === 2) return { file, output: rest[1] };
  return `unexpected arguments: ${rest.join(" ")}`;
}
