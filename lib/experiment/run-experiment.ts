import * as fs from "node:fs";
import * as path from "node:path";
import { evaluate, type EvaluationReport } from "../analysis/evaluate";
import { readJsonl, readTextFile, type Example } from "../data/examples";
import { prepareData, type TrainingData } from "../data/prepare-data";
import { TokenlabError } from "../errors/tokenlab-error";
import { exportRecipe } from "../export/export-recipe";
import { writeFileAtomic } from "../hf/atomic-write";
import type { CausalLM } from "../models/causal-lm";
import { loadModel, saveModel } from "../models/load-model";
import { addTokens } from "../tokens/add-tokens";
import type { AddTokensResult } from "../tokens/add-tokens-result";
import type { Run } from "../train/run";
import type { RunStatus } from "../train/run-records";
import { readRunState, writeRunState } from "../train/run-state";
import { restoreRun, train, type ModelWithNewTokens } from "../train/train";
import type { TrainOptions } from "../train/train-options";
import { parseExperiment, type DataFile, type Experiment } from "./experiment";
import { ExperimentError } from "./experiment-error";
import { experimentYaml } from "./experiment-yaml";
import { RECORD_FILES, writeEvaluation, writeRecords, writeReport } from "./run-outputs";
import { TerminalProgress, type ProgressStream } from "./terminal-progress";
import { modelTensors } from "../models/model-rows";

/** Files and folders of a run's output folder besides the records (see RECORD_FILES). */
const RUN_FILES = { experiment: "experiment.yaml", state: "state", model: "model", export: "export" } as const;

export interface HeadlessOptions {
  /** Stops the run at the next step boundary; the state is then saved for `resumeExperiment`. */
  signal?: AbortSignal;
  /** Where the progress bar goes (the CLI passes stderr); none when absent. */
  progress?: ProgressStream;
}

export interface HeadlessOutcome {
  status: RunStatus;
  steps: number;
  dir: string;
  /** One line for the user: what happened and where the files are. */
  message: string;
}

/**
 * Runs an experiment without a notebook: loadModel, addTokens, prepareData, train and evaluate
 * with the experiment's arguments, writing into `experiment.output` (which must be new or empty)
 * the records, the evaluation, the HTML report and the trained model. Nothing is written until
 * the model, tokens, data and options have all been accepted; those errors are ExperimentErrors.
 * Interrupted (options.signal), it saves a resumable state instead of evaluating.
 */
export async function runExperiment(experiment: Experiment, options: HeadlessOptions = {}): Promise<HeadlessOutcome> {
  const dir = experiment.output;
  if (!dir) throw new ExperimentError("the experiment names no output folder (`output:`)");
  if (fs.existsSync(dir) && (!fs.statSync(dir).isDirectory() || fs.readdirSync(dir).length > 0)) {
    throw new ExperimentError(`output ${dir} already exists and is not an empty folder; name a new one (\`output:\` or --output) so no earlier results are overwritten`, { dir });
  }
  const setup = await prepare(experiment);
  const session = new Session(dir, setup, options);
  const run = startOrFail(setup, () => train(setup.trained, setup.data, session.trainOptions(experiment.train)));
  fs.mkdirSync(dir, { recursive: true });
  const yamlText = experimentYaml({ ...experiment, output: dir });
  writeFileAtomic(path.join(dir, RUN_FILES.experiment), yamlText);
  return session.finish(run, experiment, 0, yamlText);
}

/** Continues the interrupted run saved in `dir` (by runExperiment) bit-identically, to the same outputs. */
export async function resumeExperiment(dir: string, options: HeadlessOptions = {}): Promise<HeadlessOutcome> {
  const file = path.join(dir, RUN_FILES.experiment);
  if (!fs.existsSync(file)) throw new ExperimentError(`${dir} is not a tokenlab run folder: it has no ${RUN_FILES.experiment}`, { dir });
  const stateDir = path.join(dir, RUN_FILES.state);
  if (!fs.existsSync(stateDir)) throw new ExperimentError(`nothing to resume in ${dir}: no saved state (the run completed, or was never interrupted)`, { dir });
  const yamlText = fs.readFileSync(file, "utf8");
  const experiment = { ...parseExperiment(yamlText, file), output: path.resolve(dir) };
  const state = readRunState(stateDir);
  const setup = await prepare(experiment);
  const session = new Session(experiment.output, setup, options);
  const run = startOrFail(setup, () => {
    const restored = restoreRun(setup.trained, setup.data, session.trainOptions(experiment.train), state);
    const saved = restored.result; // the weights as saved, which the resumed run no longer needs
    disposeModels(setup.added?.model ?? setup.base, saved?.latest, saved?.best?.model);
    return restored.resume({ signal: options.signal });
  });
  return session.finish(run, experiment, state.completed, yamlText);
}

/** The loaded model, its variant with the new tokens and the prepared data. */
interface Prepared {
  base: CausalLM & { dispose(): void };
  added?: AddTokensResult;
  trained: CausalLM | ModelWithNewTokens;
  data: TrainingData;
}

async function prepare(experiment: Experiment): Promise<Prepared> {
  const base = await failsAsExperiment(() => (experiment.model === "base" ? loadModel() : loadModel(experiment.model)));
  try {
    const { add, ...tokenOptions } = experiment.tokens ?? { add: [] };
    const added = experiment.tokens ? failsAsExperiment(() => addTokens(base, add, tokenOptions)) : undefined;
    const model = added ? added.model : base;
    const { files, examples, ...dataOptions } = experiment.data;
    const data = failsAsExperiment(() => prepareData(model.tokenizer, [...readFiles(files), ...(examples ?? [])], dataOptions));
    return { base, added, trained: added ?? base, data };
  } catch (error) {
    base.dispose();
    throw error;
  }
}

/** Setup errors (bad token, options train() refuses...) are the experiment's fault: exit code 2, nothing written. */
function failsAsExperiment<T>(step: () => T): T {
  try {
    const value = step();
    return value instanceof Promise ? (value.catch(asExperimentError) as T) : value;
  } catch (error) {
    return asExperimentError(error);
  }
}

function asExperimentError(error: unknown): never {
  if (error instanceof TokenlabError && !(error instanceof ExperimentError)) throw new ExperimentError(error.message, error.context, { cause: error });
  throw error;
}

function startOrFail(setup: Prepared, start: () => Run): Run {
  try {
    return failsAsExperiment(start);
  } catch (error) {
    setup.base.dispose();
    throw error;
  }
}

function readFiles(files: readonly DataFile[] | undefined): Example[] {
  return (files ?? []).flatMap((file) => (file.path.endsWith(".jsonl") ? readJsonl(file.path) : readTextFile(file.path, { split: file.split })));
}

/** One headless segment: progress while it trains, then the outputs for how it ended. */
class Session {
  private progress?: TerminalProgress;
  private run?: Run;

  constructor(
    private readonly dir: string,
    private readonly setup: Prepared,
    private readonly options: HeadlessOptions,
  ) {}

  /** The experiment's train options plus what only a headless run sets (never written to YAML). */
  trainOptions(options: TrainOptions): TrainOptions {
    return {
      ...options,
      signal: this.options.signal,
      display: false,
      onStep: (record) => {
        const evalRecord = this.run?.evals[this.run.evals.length - 1];
        this.progress?.update(record, evalRecord?.step === record.step ? evalRecord.loss : undefined);
      },
    };
  }

  /** Called as soon as the run exists, before its first step (which waits for the event loop). */
  async finish(run: Run, experiment: Experiment, firstStep: number, yamlText: string): Promise<HeadlessOutcome> {
    this.run = run;
    if (this.options.progress) this.progress = new TerminalProgress(this.options.progress, firstStep, run.plannedSteps, experiment.train.displayEvery ?? 5, "training");
    const { dir, setup } = this;
    const report = (evaluation?: EvaluationReport) =>
      writeReport(dir, { title: `tokenlab run ${path.basename(dir)}`, experimentYaml: yamlText, tokens: setup.added?.table(), run, evaluation });
    try {
      const result = await run.then(undefined, (error: unknown) => {
        this.progress?.close();
        writeRecords(dir, run);
        report();
        throw error;
      });
      this.progress?.close();
      const steps = `${result.steps - firstStep} step(s), ${result.steps} in all`;
      if (result.status === "interrupted" || result.status === "stopped") {
        writeRunState(path.join(dir, RUN_FILES.state), run.state());
        writeRecords(dir, run);
        report();
        const message = `${result.status} at step ${result.steps} of ${run.plannedSteps}; state saved in ${path.join(dir, RUN_FILES.state)}. Continue with: tokenlab run --resume ${dir}`;
        return { status: result.status, steps: result.steps, dir, message };
      }
      const evaluation = evaluateResult(experiment, setup, result.model);
      await saveModel(result.model, path.join(dir, RUN_FILES.model));
      if (experiment.export) await exportRecipe(run, path.join(dir, RUN_FILES.export), { ...experiment.export, evaluation });
      writeEvaluation(dir, evaluation);
      writeRecords(dir, run);
      report(evaluation);
      fs.rmSync(path.join(dir, RUN_FILES.state), { recursive: true, force: true });
      const exported = experiment.export ? `, the cluster recipe in ${RUN_FILES.export}/` : "";
      const message = `${result.status} after ${steps}; model${exported}, records (${RECORD_FILES.steps}, ${RECORD_FILES.stepsCsv}...), ${RECORD_FILES.evaluation} and ${RECORD_FILES.report} in ${dir}`;
      return { status: result.status, steps: result.steps, dir, message };
    } finally {
      disposeModels(setup.base, setup.added?.model, run.result?.latest, run.result?.best?.model);
      run.dispose();
      setup.base.dispose();
    }
  }
}

/** Frees the tensors of models derived from `base` that `base` does not share (result and token variants). */
function disposeModels(base: CausalLM, ...models: Array<CausalLM | undefined>): void {
  const shared = new Set(modelTensors(base));
  const owned = new Set(models.flatMap((m) => (m ? modelTensors(m) : [])).filter((t) => !shared.has(t)));
  for (const tensor of owned) tensor.dispose();
}

/** evaluate() on the experiment's eval files, else on the held-out split of the training data. */
function evaluateResult(experiment: Experiment, setup: Prepared, model: CausalLM): EvaluationReport {
  const options = experiment.evaluate ?? {};
  const newIds = setup.added?.newIds ?? experiment.train.newIds ?? [];
  const data = options.data ? readFiles(options.data) : setup.data;
  return evaluate({ model, newIds }, data, {
    plainText: options.plainText && readFiles(options.plainText),
    base: options.klToBase ? setup.base : undefined,
    batchSize: options.batchSize,
    seqLen: options.seqLen ?? experiment.data.seqLen,
  });
}
