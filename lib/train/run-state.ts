import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { DriftCheckpoint } from "../analysis/drift-recorder";
import type { TrainingData } from "../data/prepare-data";
import { replaceDirectoryAtomic } from "../hf/atomic-write";
import { readSafetensors, writeSafetensorsStreaming, type TensorToWrite } from "../hf/safetensors";
import type { EvalRecord, RunEvent, RunStatus, StepRecord } from "./run-records";
import type { PlateauState } from "./schedules";
import { TrainingError } from "./training-error";
import type { UnfreezeState } from "./unfreeze-schedule";

/** A tensor's values copied to the CPU (float32, as training holds them: saved and read back bit-exact). */
export interface SavedTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Everything a stopped Run needs to continue in another process bit-identically: the trainable
 * values, each one's AdamW moments and step count, the best snapshot, the schedule states and the
 * records. The batch order needs no state of its own: it is a pure function of (seed, step).
 * Which parameters exist is not saved either: replaying the opened unfreeze stages rebuilds them.
 */
export interface RunState {
  completed: number;
  totalSteps: number;
  status: RunStatus;
  history: StepRecord[];
  evals: EvalRecord[];
  events: RunEvent[];
  plateau: PlateauState;
  unfreeze: UnfreezeState;
  /** Keyed by TrainableParameter.key. */
  params: Record<string, SavedTensor>;
  moments: Record<string, { m: SavedTensor; v: SavedTensor; steps: number }>;
  best?: { record: EvalRecord; snapshot: Array<{ tensor: string; rowIds?: number[]; value: SavedTensor }> };
  drift: DriftCheckpoint[];
  /** SHA-256 of the prepared rows, so a resume on changed data fails instead of diverging. */
  dataFingerprint: string;
}

const STATE_JSON = "state.json";
const TENSORS = "tensors.safetensors";

/** Writes `state` into `dir` atomically: an interrupted save leaves the previous state (or none). */
export function writeRunState(dir: string, state: RunState): void {
  const tensors: TensorToWrite[] = [];
  const add = (name: string, value: SavedTensor) => tensors.push({ name, shape: value.shape, data: value.data, dtype: "F32" });
  for (const [key, value] of Object.entries(state.params)) add(`param/${key}`, value);
  for (const [key, { m, v }] of Object.entries(state.moments)) (add(`m/${key}`, m), add(`v/${key}`, v));
  state.best?.snapshot.forEach((entry, i) => add(`best/${i}`, entry.value));
  state.drift.forEach((checkpoint, i) => add(`drift/${i}`, { shape: [checkpoint.rows.length], data: checkpoint.rows }));
  const json = {
    ...state,
    params: Object.keys(state.params),
    moments: Object.fromEntries(Object.entries(state.moments).map(([key, { steps }]) => [key, { steps }])),
    best: state.best && { record: state.best.record, snapshot: state.best.snapshot.map(({ tensor, rowIds }) => ({ tensor, rowIds })) },
    drift: state.drift.map((checkpoint) => checkpoint.step),
  };
  replaceDirectoryAtomic(
    dir,
    (staging) => {
      writeSafetensorsStreaming(path.join(staging, TENSORS), tensors);
      fs.writeFileSync(path.join(staging, STATE_JSON), JSON.stringify(json, keepNonFinite, 1));
    },
    () => true,
  );
}

/** Reads what writeRunState wrote; a missing or damaged state is a TrainingError naming the folder. */
export function readRunState(dir: string): RunState {
  const file = path.join(dir, STATE_JSON);
  if (!fs.existsSync(file)) throw new TrainingError(`${dir} holds no saved run state (no ${STATE_JSON}); it is written when a run is interrupted`, { dir });
  const json = JSON.parse(fs.readFileSync(file, "utf8"), restoreNonFinite) as Omit<RunState, "params" | "moments" | "best" | "drift"> & {
    params: string[];
    moments: Record<string, { steps: number }>;
    best?: { record: EvalRecord; snapshot: Array<{ tensor: string; rowIds?: number[] }> };
    drift: number[];
  };
  const { tensors } = readSafetensors(path.join(dir, TENSORS));
  const tensor = (name: string): SavedTensor => {
    const entry = tensors.get(name);
    if (!entry) throw new TrainingError(`${dir}: the saved state lacks tensor ${name}`, { dir, tensor: name });
    return { shape: entry.shape, data: entry.data };
  };
  return {
    ...json,
    params: Object.fromEntries(json.params.map((key) => [key, tensor(`param/${key}`)])),
    moments: Object.fromEntries(Object.entries(json.moments).map(([key, { steps }]) => [key, { m: tensor(`m/${key}`), v: tensor(`v/${key}`), steps }])),
    best: json.best && { record: json.best.record, snapshot: json.best.snapshot.map((entry, i) => ({ ...entry, value: tensor(`best/${i}`) })) },
    drift: json.drift.map((step, i) => ({ step, rows: tensor(`drift/${i}`).data })),
  };
}

/** SHA-256 over the token ids, labels and masks of every train and eval row, in order. */
export function dataFingerprint(data: TrainingData): string {
  const hash = createHash("sha256");
  for (const part of [data.train, data.eval]) {
    hash.update(`|${part.length}|`);
    for (const row of part) hash.update(Int32Array.from([...row.inputIds, ...row.labels, ...row.attentionMask]));
  }
  return hash.digest("hex");
}

// JSON has no NaN or Infinity (a new-token loss is NaN on batches without new tokens; the plateau
// starts at Infinity): they are written as {"float": "NaN"} and read back as numbers.
function keepNonFinite(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? { float: String(value) } : value;
}

function restoreNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "float") return Number((value as { float: string }).float);
  }
  return value;
}
