import * as tf from "@tensorflow/tfjs-core";
import { inspect } from "node:util";
import { DriftRecorder } from "../analysis/drift-recorder";
import { BatchSchedule } from "../data/batches";
import type { TrainingData } from "../data/prepare-data";
import type { Figure } from "../display/figure";
import { Table } from "../display/table";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display/mime-bundle";
import { formatNumber } from "../display/text-format";
import { optionChecks } from "../errors/option-checks";
import type { CausalLM } from "../models/causal-lm";
import { appendAll } from "../runtime/large-arrays";
import { notebookHost } from "../runtime/notebook-host";
import { AdamW } from "./adamw";
import type { LayerGroup } from "./layer-groups";
import type { EvalRecord, RunEvent, RunStatus, StepRecord } from "./run-records";
import { initialPlateauState, updatePlateau, type PlateauState } from "./schedules";
import type { ModelWithNewTokens } from "./train";
import { learningRateOf, type ResolvedOptions, type TrainOptions } from "./train-options";
import { evaluateLoss, trainStep } from "./train-step";
import { dataFingerprint, type RunState, type SavedTensor } from "./run-state";
import { disposeSnapshot, TrainableParameters, type Snapshot } from "./trainable-parameters";
import { TrainingError } from "./training-error";
import { trainingChart } from "./training-chart";
import { TrainingMonitor } from "./training-monitor";
import { fluctuationVerdict, lossFluctuation } from "./loss-fluctuation";
import { RunControls } from "./run-controls";
import { initialUnfreezeState, stepUnfreeze, type UnfreezeState } from "./unfreeze-schedule";

/**
 * What `await run` gives. The caller owns the tensors of `model`, `latest` and `best.model` that the
 * base does not share. Displays as the run (chart and summary), not as a dump of tensors; in
 * util.inspect (console.log) as a few lines. It carries the new ids, so `evaluate(result, data)`
 * scores the trained model on the tokens it was trained for.
 */
export interface TrainResult extends Displayable {
  /** The model to use: the best-eval-loss weights when restoreBest applies, else the latest. */
  model: CausalLM;
  /** The ids of the added tokens whose rows the run trained (as given to `train`). */
  newIds: readonly number[];
  /** Weights after the last completed step. */
  latest: CausalLM;
  best?: { step: number; evalLoss: number; model: CausalLM };
  status: RunStatus;
  steps: number;
  history: readonly StepRecord[];
  evals: readonly EvalRecord[];
  [inspect.custom](): string;
}

/** What train() was called with: enough to write the run down as an experiment file. */
export interface TrainRecipe {
  model: CausalLM | ModelWithNewTokens;
  data: TrainingData;
  options: TrainOptions;
}

export interface RunSetup {
  recipe: TrainRecipe;
  base: CausalLM;
  newIds: readonly number[];
  data: TrainingData;
  options: ResolvedOptions;
  groups: { all: LayerGroup[]; initial: LayerGroup[]; stages: LayerGroup[][] };
  signal?: AbortSignal;
  display: boolean;
  title?: string;
}

/**
 * A training run in progress or finished. `await run` resolves with a TrainResult when the run
 * completes, early-stops, is stopped (`run.stop()`) or interrupted (the notebook's interrupt or
 * options.signal); it rejects with the error when a step fails (e.g. a non-finite loss) — the
 * weights of the last good step are kept either way, and `run.result` holds them.
 * `resume()` continues from the latest weights with the optimizer state intact.
 *
 * Tensors: the run owns its trainable variables, optimizer moments and best snapshot; `dispose()`
 * frees them (not the base model, not the result models).
 */
export class Run implements PromiseLike<TrainResult>, Displayable {
  readonly history: StepRecord[] = [];
  readonly evals: EvalRecord[] = [];
  readonly events: RunEvent[] = [];
  readonly drift: DriftRecorder;
  readonly base: CausalLM;
  readonly newIds: readonly number[];
  status: RunStatus = "running";
  error?: Error;
  result?: TrainResult;
  private completed = 0;
  private totalSteps: number;
  private readonly params: TrainableParameters;
  private readonly optimizerOf = new Map<string, AdamW>();
  private readonly optimizers: AdamW[] = [];
  private readonly learningRates = new Map<string, number>();
  private best?: { record: EvalRecord; snapshot: Snapshot };
  private plateau: PlateauState = initialPlateauState;
  private unfreezeState: UnfreezeState = initialUnfreezeState;
  /** The stage the schedule opened last, until the next step trains it. */
  private stageDue?: LayerGroup[];
  private stopRequested = false;
  private pauseRequested = false;
  /** Ends the wait of a paused run (set while it waits at a step boundary). */
  private wake?: () => void;
  /** Base learning rate set by setLearningRate(); replaces options.lr from the next step on. */
  private lrOverride?: number;
  private lrApplied?: number;
  private readonly batches: BatchSchedule;
  private promise: Promise<TrainResult>;

  /**
   * Starts training at once; or, given `saved` (see `state()`), rebuilds a stopped run as it was
   * (await it for its result, `resume()` to continue). `setup` is how the run was set up (model,
   * data, resolved options, groups, what train() got): what exportRecipe and headless runs read.
   */
  constructor(
    readonly setup: RunSetup,
    saved?: RunState,
  ) {
    this.base = setup.base;
    this.newIds = setup.newIds;
    this.totalSteps = setup.options.steps;
    this.params = new TrainableParameters(setup.base);
    this.batches = new BatchSchedule(setup.data.train, setup.options.batchSize, setup.options.seed);
    this.startTraining(setup.groups.initial);
    const hidden = setup.base.config.hiddenSize;
    const sample = DriftRecorder.sampleExisting(
      Math.min(setup.base.tokenizer.size, setup.base.config.vocabSize),
      setup.newIds,
      setup.options.driftSample,
      setup.options.seed,
    );
    this.drift = new DriftRecorder(setup.newIds, sample, hidden, setup.options.driftEvery);
    if (saved) {
      this.restore(saved);
      this.result = this.buildResult();
      this.promise = Promise.resolve(this.result);
    } else {
      this.promise = this.segment(setup.signal);
    }
  }

  /** Number of completed optimization steps. */
  get completedSteps(): number {
    return this.completed;
  }

  /** The step this run trains to (its `steps`, extended by `resume({steps})`). */
  get plannedSteps(): number {
    return this.totalSteps;
  }

  /** Elements the optimizer updates (gradients and each AdamW moment hold this many). */
  get trainableElements(): number {
    return this.params.elementCount;
  }

  /** Names of the layer groups training now. */
  get trainingGroups(): string[] {
    return [...new Set(this.params.list.map((p) => p.group))];
  }

  then<A = TrainResult, B = never>(
    onFulfilled?: ((value: TrainResult) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.promise.then(onFulfilled, onRejected);
  }

  /** Asks the run to stop at the next step boundary (a paused run stops at once). */
  stop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  /**
   * Asks a running run to wait at the next step boundary until resume() or stop(); `await run` stays
   * pending meanwhile, and the notebook's interrupt still ends it.
   */
  pause(): void {
    if (this.status !== "running") throw new TrainingError("only a running run can pause", { status: this.status });
    this.pauseRequested = true;
  }

  /** Whether the run is paused or will pause at the next step boundary. */
  get paused(): boolean {
    return this.pauseRequested && this.status === "running";
  }

  /**
   * Sets the base learning rate from the next step on (each group keeps its ratio to it and the
   * schedule still scales it), as an override of options.lr; the chart's lr curve shows it.
   */
  setLearningRate(lr: number): void {
    if (typeof lr !== "number" || !Number.isFinite(lr) || lr <= 0) throw new TrainingError("the learning rate must be a finite number > 0", { lr });
    this.lrOverride = lr;
  }

  /** The base learning rate the next step uses (before the schedule). */
  get learningRate(): number {
    return this.lrOverride ?? this.setup.options.lr;
  }

  /**
   * Continues a paused run; or a run that is not running: up to its planned steps, plus `steps` more
   * when given, picking up the interrupt signal of the cell that calls it. Returns the run (await it).
   */
  resume(options: { steps?: number; signal?: AbortSignal } = {}): this {
    const checks = optionChecks(TrainingError, "resume option");
    checks.knownKeys(options, ["steps", "signal"]);
    checks.number("steps", options.steps, { integer: true, min: 0 });
    if (this.paused) {
      this.totalSteps += options.steps ?? 0;
      this.pauseRequested = false;
      this.wake?.();
      return this;
    }
    if (this.status === "running") throw new TrainingError("this run is still running; stop() it or await it first");
    this.totalSteps = Math.max(this.totalSteps, this.completed) + (options.steps ?? 0);
    if (this.completed >= this.totalSteps) throw new TrainingError("nothing to resume: all planned steps ran; pass {steps: N} to train further", { steps: this.completed });
    this.stopRequested = false;
    this.plateau = { ...this.plateau, evalsWithoutImprovement: 0 };
    this.error = undefined;
    this.status = "running";
    this.events.push({ step: this.completed, kind: "resumed", message: `resumed at step ${this.completed} of ${this.totalSteps}` });
    this.promise = this.segment(options.signal);
    return this;
  }

  /**
   * The state of a run that is not running, as plain data and CPU copies: `writeRunState` saves it,
   * `new Run(setup, state)` in another process continues it bit-identically.
   */
  state(): RunState {
    if (this.status === "running") throw new TrainingError("this run is still running; stop() it or await it first");
    const saved = (t: tf.Tensor): SavedTensor => ({ shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) });
    const moments: RunState["moments"] = {};
    for (const p of this.params.list) {
      const state = this.optimizerOf.get(p.key)!.momentsOf(p.value);
      const shape = [...p.value.shape];
      if (state) moments[p.key] = { m: { shape, data: Float32Array.from(state.m) }, v: { shape, data: Float32Array.from(state.v) }, steps: state.steps };
    }
    return {
      completed: this.completed,
      totalSteps: this.totalSteps,
      status: this.status,
      history: [...this.history],
      evals: [...this.evals],
      events: [...this.events],
      plateau: this.plateau,
      unfreeze: this.unfreezeState,
      params: Object.fromEntries(this.params.list.map((p) => [p.key, saved(p.value)])),
      moments,
      best: this.best && { record: this.best.record, snapshot: this.best.snapshot.map(({ tensor, rowIds, value }) => ({ tensor, rowIds, value: saved(value) })) },
      drift: [...this.drift.checkpoints],
      dataFingerprint: dataFingerprint(this.setup.data),
    };
  }

  /** Frees the run's training state (variables, optimizer moments, best snapshot). */
  dispose(): void {
    this.params.dispose();
    for (const optimizer of this.optimizers) optimizer.dispose();
    disposeSnapshot(this.best?.snapshot);
    this.best = undefined;
  }

  /** The summary table: status, steps, losses at start / best / end, groups trained. */
  summary(): Table {
    const first = this.history[0];
    const last = this.history[this.history.length - 1];
    const rows: Array<[string, string]> = [
      ["status", this.status + (this.error ? ` (${this.error.message})` : "")],
      ["steps", `${this.completed} / ${this.totalSteps}`],
      ["groups trained", this.trainingGroups.join(", ")],
      ["trainable elements", formatNumber(this.trainableElements)],
      ["loss first → last", first && last ? `${formatNumber(first.loss)} → ${formatNumber(last.loss)}` : "–"],
      ["new-token loss first → last", first && last ? `${formatNumber(first.newTokenLoss)} → ${formatNumber(last.newTokenLoss)}` : "–"],
      ["eval loss first → last", this.evals.length > 0 ? `${formatNumber(this.evals[0].loss)} → ${formatNumber(this.evals[this.evals.length - 1].loss)}` : "–"],
      ["best eval loss", this.best ? `${formatNumber(this.best.record.loss)} at step ${this.best.record.step}` : "–"],
      [
        "new-token loss fluctuation",
        fluctuationVerdict(lossFluctuation(this.history.map((h) => h.newTokenLoss), this.base.tokenizer.size), this.history.map((h) => h.step)),
      ],
    ];
    for (const event of this.events.filter((e) => e.kind === "unfreeze")) rows.push([`unfrozen at step ${event.step}`, (event.groups ?? []).join(", ")]);
    return new Table({ columns: ["", "value"], rows, title: this.setup.title ?? "training run" });
  }

  /** The training chart (losses, gradient norms per group, learning rate) of everything so far. */
  chart(): Figure {
    return trainingChart(this.history, this.evals, this.events, this.setup.title ?? "training", this.base.tokenizer.size);
  }

  /** Chart and summary table as HTML (plotly.js embedded), the summary as text. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const summary = this.summary();
    const chart = this.history.length > 0 ? `${this.chart()[JUPYTER_DISPLAY]()["text/html"]}\n` : "";
    return { "text/html": chart + summary.toHTML(), "text/plain": summary.toString() };
  }

  /** Takes over a saved state: the opened stages are replayed so the same parameters and optimizers exist. */
  private restore(saved: RunState): void {
    if (saved.dataFingerprint !== dataFingerprint(this.setup.data)) {
      throw new TrainingError("the training data differ from those of the saved run (files changed since?); a resumed run must see the same rows");
    }
    const opened = saved.events.filter((e) => e.kind === "unfreeze").length;
    for (const stage of this.setup.groups.stages.slice(0, opened)) this.startTraining(stage);
    if (saved.unfreeze.stagesOpened > opened) this.stageDue = this.setup.groups.stages[opened];
    const keys = this.params.list.map((p) => p.key);
    if (keys.join("\n") !== Object.keys(saved.params).join("\n")) {
      throw new TrainingError("the saved run trained other parameters than this setup (different strategy or model?)", { saved: Object.keys(saved.params), now: keys });
    }
    for (const p of this.params.list) {
      const value = saved.params[p.key];
      if (value.shape.join(",") !== p.value.shape.join(",")) throw new TrainingError(`saved ${p.key} has shape [${value.shape}], the model's is [${p.value.shape}]`);
      tf.tidy(() => p.value.assign(tf.tensor(value.data, value.shape, "float32")));
      const moments = saved.moments[p.key];
      if (moments) this.optimizerOf.get(p.key)!.setMoments(p.value, { m: moments.m.data, v: moments.v.data, steps: moments.steps });
    }
    if (saved.best) {
      const snapshot = saved.best.snapshot.map(({ tensor, rowIds, value }) => ({ tensor, rowIds, value: tf.tensor(value.data, value.shape, "float32") }));
      this.best = { record: saved.best.record, snapshot };
    }
    this.completed = saved.completed;
    this.totalSteps = saved.totalSteps;
    this.status = saved.status;
    appendAll(this.history, saved.history);
    appendAll(this.evals, saved.evals);
    appendAll(this.events, saved.events);
    this.plateau = saved.plateau;
    this.unfreezeState = saved.unfreeze;
    appendAll(this.drift.checkpoints, saved.drift);
  }

  private startTraining(groups: readonly LayerGroup[]): string[] {
    const added = this.params.add(groups);
    if (added.length === 0) return [];
    const optimizer = new AdamW(
      added.map((p) => {
        const lr = learningRateOf(p, this.setup.groups.all, this.base.layout, this.setup.options);
        this.learningRates.set(p.key, lr);
        return { name: p.key, params: [p.value], learningRate: lr, weightDecay: p.decay ? this.setup.options.weightDecay : 0 };
      }),
    );
    this.optimizers.push(optimizer);
    for (const p of added) this.optimizerOf.set(p.key, optimizer);
    return [...new Set(added.map((p) => p.group))];
  }

  private async segment(signal: AbortSignal | undefined): Promise<TrainResult> {
    const signals = [signal, notebookHost()?.signal].filter((s): s is AbortSignal => s !== undefined);
    const firstStep = this.completed;
    const controls = this.setup.display ? RunControls.forRun(this) : undefined;
    const monitor = new TrainingMonitor(this.setup.display, firstStep, this.totalSteps, this.setup.options.displayEvery, this.setup.title ?? "training", controls);
    try {
      // Return the Run to the caller before the first step runs.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.completed === 0) {
        this.recordDrift();
        // The eval before training is the first point of the plateau for unfreezing too; a run
        // stopped before its first step has it already (a second one would count as a plateau).
        if (!this.evals.some((e) => e.step === 0)) this.maybeUnfreeze(this.evaluate());
      }
      const started = performance.now();
      while (this.completed < this.totalSteps) {
        if (this.pauseRequested) await this.waitWhilePaused(signals, monitor);
        if (this.stopRequested || signals.some((s) => s.aborted)) {
          this.finish(this.stopRequested ? "stopped" : "interrupted");
          break;
        }
        this.step(started);
        monitor.update(this);
        if (this.status !== "running") break;
        // Let the kernel deliver interrupts and display messages between steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (this.status === "running") this.finish("completed");
    } catch (error) {
      this.status = "failed";
      this.error = error instanceof Error ? error : new TrainingError(String(error));
      this.events.push({ step: this.completed, kind: "failed", message: this.error.message });
    } finally {
      this.recordDrift();
      this.result = this.buildResult();
      monitor.close(this);
    }
    if (this.status === "failed") throw this.error;
    return this.result;
  }

  /** Waits at a step boundary until resume(), stop() or an abort of one of `signals`. */
  private async waitWhilePaused(signals: AbortSignal[], monitor: TrainingMonitor): Promise<void> {
    this.events.push({ step: this.completed, kind: "paused", message: `paused at step ${this.completed}` });
    monitor.update(this);
    await new Promise<void>((resolve) => {
      const done = () => {
        for (const s of signals) s.removeEventListener("abort", done);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      for (const s of signals) s.addEventListener("abort", done);
      if (!this.pauseRequested || this.stopRequested || signals.some((s) => s.aborted)) done();
    });
    this.pauseRequested = false;
    if (!this.stopRequested && !signals.some((s) => s.aborted)) {
      this.events.push({ step: this.completed, kind: "resumed", message: `resumed at step ${this.completed}` });
    }
  }

  private step(started: number): void {
    const { options } = this.setup;
    const index = this.completed;
    this.openDueStage();
    const factor = options.schedule(index);
    const base = this.learningRate;
    if (base !== (this.lrApplied ?? options.lr)) this.events.push({ step: index, kind: "lr", message: `learning rate ${formatNumber(base)} from step ${index + 1}` });
    this.lrApplied = base;
    const scale = base / options.lr;
    for (const p of this.params.list) this.optimizerOf.get(p.key)!.setLearningRate(p.key, this.learningRates.get(p.key)! * scale * factor);
    const batch = this.batches.at(index);
    const outcome = trainStep(this.base, this.params, this.optimizers, batch, {
      step: index + 1,
      clipNorm: options.clipNorm,
      newIds: new Set(this.newIds),
    });
    this.completed = index + 1;
    this.history.push({
      step: this.completed,
      loss: outcome.loss.all,
      newTokenLoss: outcome.loss.newTokens,
      otherLoss: outcome.loss.other,
      lr: base * factor,
      gradNorm: outcome.totalGradNorm,
      gradNorms: outcome.gradNorms,
      seconds: (performance.now() - started) / 1000,
    });
    const evalLoss = this.completed % options.evalEvery === 0 || this.completed === this.totalSteps ? this.evaluate() : undefined;
    if (this.drift.due(this.completed)) this.recordDrift();
    this.maybeUnfreeze(evalLoss);
    if (evalLoss !== undefined && options.earlyStopping && this.plateau.evalsWithoutImprovement >= options.earlyStopping.patience) {
      this.finish("early-stopped");
    }
    options.onStep?.(this.history[this.history.length - 1]);
  }

  /** Eval loss with the current weights (recorded; updates best and the plateau state), or undefined without eval data. */
  private evaluate(): number | undefined {
    const rows = this.setup.data.eval;
    if (rows.length === 0) return undefined;
    const split = evaluateLoss(this.base, () => this.params.compose(), rows, this.setup.options.batchSize, new Set(this.newIds));
    const record: EvalRecord = { step: this.completed, loss: split.all, newTokenLoss: split.newTokens, otherLoss: split.other };
    this.evals.push(record);
    const minDelta = this.setup.options.earlyStopping ? this.setup.options.earlyStopping.minDelta : 0;
    this.plateau = updatePlateau(this.plateau, this.completed, record.loss, minDelta);
    if (this.plateau.bestStep === this.completed) {
      disposeSnapshot(this.best?.snapshot);
      this.best = { record, snapshot: this.params.snapshot() };
      this.events.push({ step: this.completed, kind: "best", message: `best eval loss ${formatNumber(record.loss)}` });
    }
    return record.loss;
  }

  private maybeUnfreeze(evalLoss: number | undefined): void {
    const trigger = this.setup.options.unfreeze;
    const stages = this.setup.groups.stages;
    if (!trigger || stages.length === 0) return;
    const { state, open } = stepUnfreeze(this.unfreezeState, trigger, stages.length, this.completed, evalLoss);
    this.unfreezeState = state;
    if (!open) return;
    // Added to training only when a next step runs: after the last step, an early stop or stop(),
    // a stage would otherwise be reported as trained without ever having trained (resume() trains it).
    this.stageDue = stages[state.stagesOpened - 1];
  }

  private openDueStage(): void {
    const stage = this.stageDue;
    if (!stage) return;
    this.stageDue = undefined;
    this.startTraining(stage);
    const names = stage.map((g) => g.name);
    this.events.push({ step: this.completed, kind: "unfreeze", message: `unfroze ${names.join(", ")}`, groups: names });
  }

  private finish(status: RunStatus): void {
    this.status = status;
    this.events.push({ step: this.completed, kind: status as RunEvent["kind"], message: `${status} at step ${this.completed}` });
  }

  private recordDrift(): void {
    this.drift.record(this.completed, (ids) => this.params.rows(this.base.layout.embedding, ids));
  }

  private buildResult(): TrainResult {
    const latestSnapshot = this.params.snapshot();
    const latest = this.base.withChanges(this.params.toWeights(latestSnapshot));
    disposeSnapshot(latestSnapshot);
    let best: TrainResult["best"];
    if (this.best) {
      const model = this.best.record.step === this.completed ? latest : this.base.withChanges(this.params.toWeights(this.best.snapshot));
      best = { step: this.best.record.step, evalLoss: this.best.record.loss, model };
    }
    const model = this.setup.options.restoreBest && best ? best.model : latest;
    const status = this.status;
    const steps = this.completed;
    const bestText = best ? `best eval loss ${formatNumber(best.evalLoss)} at step ${best.step}` : "no eval";
    return {
      model,
      newIds: this.setup.newIds,
      latest,
      best,
      status,
      steps,
      history: this.history,
      evals: this.evals,
      [JUPYTER_DISPLAY]: () => this[JUPYTER_DISPLAY](),
      [inspect.custom]: () =>
        `TrainResult: ${status} after ${steps} steps, ${bestText}, newIds [${this.setup.newIds.join(", ")}]\n` +
        `${this.history.length} step records, ${this.evals.length} evals; model:\n${inspect(model)}`,
    };
  }
}
