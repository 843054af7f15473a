import * as path from "node:path";
import { stringify } from "yaml";
import { EXPERIMENT_KEYS, type DataFile, type Experiment } from "./experiment";

/**
 * An experiment as YAML that `parseExperiment` reads back into an equal experiment. Paths are
 * written relative to `folder` when given (an experiment file stays valid when its project folder
 * moves), absolute otherwise.
 */
export function experimentYaml(experiment: Experiment, folder?: string): string {
  const where = (file: string) => (folder ? path.relative(folder, file) || "." : file);
  const files = (list: DataFile[] | undefined) => list?.map((f) => (f.split === undefined ? where(f.path) : { ...f, path: where(f.path) }));
  const plain: Record<string, unknown> = {
    ...experiment,
    model: experiment.model === "base" ? "base" : where(experiment.model),
    data: { ...experiment.data, files: files(experiment.data.files) },
    evaluate: experiment.evaluate && { ...experiment.evaluate, data: files(experiment.evaluate.data), plainText: files(experiment.evaluate.plainText) },
    output: experiment.output && where(experiment.output),
  };
  const ordered = Object.fromEntries(EXPERIMENT_KEYS.filter((key) => plain[key] !== undefined).map((key) => [key, withoutUndefined(plain[key])]));
  return stringify(ordered, { lineWidth: 0 });
}

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, withoutUndefined(v)]));
}
