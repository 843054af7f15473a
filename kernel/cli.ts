import { resolve } from "node:path";
import { readConnectionFile } from "./protocol/connection-file";
import { KernelTransport } from "./protocol/transport";
import { installKernelspec, type InstallTarget } from "./install/kernelspec";
import { TokenlabError } from "../lib/errors/tokenlab-error";

const USAGE = `usage:
  tokenlab install [--user | --sys-prefix | --prefix DIR]   write the Jupyter kernelspec "tokenlab"
  tokenlab kernel --connection-file FILE                    run the kernel (Jupyter starts this)
  tokenlab nbtest ...                                       run notebooks as tests (tokenlab nbtest --help)
  tokenlab export CHECKPOINT OUT_DIR --data FILE --new-token TOKEN [--new-token TOKEN ...]
      [--strategy new-rows|gradual|full|SELECTOR,...] [--unfreeze-every N] [--steps N] [--batch-size N]
      [--lr X] [--embedding-lr X] [--seq-len N] [--eval-fraction F] [--seed N] [--overwrite]
                                                            write a cluster recipe (LLaMA-Factory, Trainer + PEFT)
  tokenlab run EXPERIMENT.yaml [--output DIR]               train and evaluate headless (tokenlab run --help)
  tokenlab run --resume DIR                                 continue a run that Ctrl-C stopped`;

/** Entry point of bin/tokenlab.js; resolves to the process exit code. */
export async function main(argv: string[], binPath: string): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "install": {
      const dir = installKernelspec(parseInstallTarget(rest), binPath);
      process.stdout.write(`installed kernelspec tokenlab in ${dir}\n`);
      return 0;
    }
    case "kernel": {
      const at = rest.indexOf("--connection-file");
      if (at < 0 || !rest[at + 1]) return usage("kernel needs --connection-file FILE");
      // The socket worker boots on its own thread while this one loads the session's modules.
      const transport = KernelTransport.start(readConnectionFile(resolve(rest[at + 1])));
      const { KernelSession } = require("./handler/kernel-session") as typeof import("./handler/kernel-session");
      await new KernelSession(process.cwd()).start(transport);
      return new Promise<number>(() => undefined); // runs until shutdown_request or a signal
    }
    case "nbtest":
      return nbtest(rest);
    case "run":
      return run(rest);
    case "export":
      return exportRecipeCommand(rest);
    default:
      return usage(command === undefined || command === "--help" ? undefined : `unknown command ${command}`);
  }
}

async function nbtest(argv: string[]): Promise<number> {
  // Loaded on demand so that `tokenlab kernel` does not compile the test runner at startup.
  const { nbtestMain } = require("./nbtest/cli") as typeof import("./nbtest/cli");
  return nbtestMain(argv);
}

async function run(argv: string[]): Promise<number> {
  // Loaded on demand: training pulls in tfjs, which `tokenlab kernel` should not load at startup.
  const { runCommand, RUN_USAGE } = require("./run-command") as typeof import("./run-command");
  if (argv[0] === "--help") {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  return runCommand(argv);
}

async function exportRecipeCommand(argv: string[]): Promise<number> {
  // Loaded on demand: the export pulls in tfjs, which `tokenlab kernel` must not load at startup.
  const { exportCommand } = require("../lib/export/export-command") as typeof import("../lib/export/export-command");
  try {
    const result = await exportCommand(argv);
    process.stdout.write(`exported ${result.files.length} files to ${result.dir}; see ${result.dir}/README.md\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof TokenlabError)) throw error;
    return usage(error.message);
  }
}

function parseInstallTarget(args: string[]): InstallTarget {
  if (args.includes("--sys-prefix")) return { kind: "sys-prefix" };
  const at = args.indexOf("--prefix");
  if (at >= 0) {
    if (!args[at + 1]) throw new Error("--prefix needs a directory");
    return { kind: "prefix", dir: resolve(args[at + 1]) };
  }
  return { kind: "user" };
}

function usage(problem?: string): number {
  if (problem) process.stderr.write(`${problem}\n`);
  process.stderr.write(`${USAGE}\n`);
  return problem ? 2 : 0;
}
