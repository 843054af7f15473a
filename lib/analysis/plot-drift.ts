import * as tf from "@tensorflow/tfjs-core";
import { Figure, type PlotlyTrace } from "../display/figure";
import { LIVE_FRAME } from "../display/live-frame";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime-bundle";
import { Table } from "../display/table";
import type { CausalLM } from "../models/causal-lm";
import { matrixRowReader, matrixRows } from "../models/model-rows";
import { nearestRows, type Neighbour } from "../tokens/nearest-tokens";
import type { DriftRecorder } from "./drift-recorder";
import { fitPca } from "./pca";

/** What plotDrift needs from a run (a Run satisfies it). */
export interface DriftSource {
  readonly base: CausalLM;
  readonly newIds: readonly number[];
  readonly drift: DriftRecorder;
}

/** Per new token and checkpoint: L2 distance and cosine similarity to its initial row. */
export interface DriftSeries {
  id: number;
  token: string;
  steps: number[];
  distance: number[];
  cosine: number[];
}

/** The nearest existing tokens (cosine) of one new token's row at one checkpoint, best first. */
export interface DriftNeighbours {
  step: number;
  id: number;
  neighbours: Neighbour[];
}

export interface DriftOptions {
  /** Nearest existing tokens listed per checkpoint (default 5). */
  neighbours?: number;
  /** At most this many existing rows fit the PCA (an even sample; default 4000). */
  pcaRows?: number;
}

/**
 * How the new tokens' input embeddings moved during a run:
 * - `distance`: L2 distance and cosine similarity to the initial row over steps (one line per token);
 * - `neighbours`: the nearest existing tokens (cosine, against the base model's existing rows) of
 *   each new token at each recorded checkpoint;
 * - `projection`: a 2-D PCA of the existing rows of the embedding matrix, with each new token's
 *   trajectory (start → end) drawn among its nearest neighbours.
 * Displays as the three parts one below the other.
 */
export function plotDrift(run: DriftSource, options: DriftOptions = {}): DriftReport {
  const { base } = run;
  const k = options.neighbours ?? 5;
  const series = driftSeries(run);
  const tokenRows = Math.min(base.tokenizer.size, base.config.vocabSize);
  // Rows as training started (float32, the model's added rows in place), read a chunk at a time.
  const embedding = matrixRowReader(base, base.layout.embedding);
  const newSet = new Set(run.newIds);
  const { drift } = run;

  // Every checkpoint's rows as queries of one scan over the vocabulary.
  const perCheckpoint = run.newIds.length * drift.hidden;
  const queries = tf.tensor2d(
    Float32Array.from(drift.checkpoints.flatMap((checkpoint) => Array.from(checkpoint.rows.subarray(0, perCheckpoint)))),
    [drift.checkpoints.length * run.newIds.length, drift.hidden],
  );
  // k more than asked: the new tokens' own (initial) rows are candidates too and are dropped.
  const found = nearestRows(embedding, tokenRows, queries, k + run.newIds.length);
  queries.dispose();

  const nearest: DriftNeighbours[] = [];
  const neighbourRows: Array<Array<string | number>> = [];
  const finalNeighbours = new Map<number, number[]>();
  drift.checkpoints.forEach((checkpoint, index) => {
    run.newIds.forEach((id, i) => {
      const existing = found[index * run.newIds.length + i].filter((n) => !newSet.has(n.id)).slice(0, k);
      if (index === drift.checkpoints.length - 1) finalNeighbours.set(id, existing.map((n) => n.id));
      nearest.push({ step: checkpoint.step, id, neighbours: existing });
      neighbourRows.push([
        checkpoint.step,
        series[i].token,
        existing.map((n) => `${JSON.stringify(base.tokenizer.decode([n.id]))} ${n.similarity.toFixed(2)}`).join(", "),
      ]);
    });
  });

  return new DriftReport(
    distanceFigure(series),
    new Table({ columns: ["step", "token", `nearest existing tokens (cosine)`], rows: neighbourRows, title: "nearest existing tokens over training" }),
    projectionFigure(run, tokenRows, finalNeighbours, options.pcaRows ?? 4000),
    series,
    nearest,
  );
}

/** Distance and cosine to the initial row for each new token at each checkpoint. */
export function driftSeries(run: DriftSource): DriftSeries[] {
  const { drift } = run;
  return run.newIds.map((id) => {
    const initial = drift.row(0, id);
    const steps: number[] = [];
    const distance: number[] = [];
    const cosine: number[] = [];
    drift.checkpoints.forEach((checkpoint, index) => {
      const row = drift.row(index, id);
      let squared = 0;
      let dotProduct = 0;
      let normA = 0;
      let normB = 0;
      for (let j = 0; j < row.length; j++) {
        squared += (row[j] - initial[j]) ** 2;
        dotProduct += row[j] * initial[j];
        normA += row[j] ** 2;
        normB += initial[j] ** 2;
      }
      steps.push(checkpoint.step);
      distance.push(Math.sqrt(squared));
      cosine.push(dotProduct / Math.max(1e-12, Math.sqrt(normA * normB)));
    });
    return { id, token: run.base.tokenizer.decode([id]), steps, distance, cosine };
  });
}

export class DriftReport {
  constructor(
    readonly distance: Figure,
    readonly neighbours: Table,
    readonly projection: Figure,
    readonly series: readonly DriftSeries[],
    /** The rows of the `neighbours` table as ids and similarities. */
    readonly nearest: readonly DriftNeighbours[],
  ) {}

  [JUPYTER_DISPLAY](): MimeBundle {
    // The first figure carries plotly.js; the second uses the copy it loaded.
    return {
      "text/html": [this.distance[JUPYTER_DISPLAY]()["text/html"], this.neighbours.toHTML(), this.projection[LIVE_FRAME]()["text/html"]].join("\n"),
      "text/plain": [this.distance.toString(), this.neighbours.toString(), this.projection.toString()].join("\n\n"),
    };
  }
}

function distanceFigure(series: readonly DriftSeries[]): Figure {
  const traces: PlotlyTrace[] = series.flatMap((s) => [
    { type: "scatter", mode: "lines+markers", name: `${s.token} distance`, x: s.steps, y: s.distance, xaxis: "x", yaxis: "y", legendgroup: s.token },
    { type: "scatter", mode: "lines+markers", name: `${s.token} cosine`, x: s.steps, y: s.cosine, xaxis: "x2", yaxis: "y2", legendgroup: s.token },
  ]);
  return new Figure({
    data: traces,
    layout: {
      title: { text: "embedding drift of the new tokens from their initialization" },
      grid: { rows: 1, columns: 2, pattern: "independent" },
      xaxis: { title: { text: "step" } },
      xaxis2: { title: { text: "step" } },
      yaxis: { title: { text: "L2 distance from init" } },
      yaxis2: { title: { text: "cosine to init" } },
      height: 380,
    },
  });
}

function projectionFigure(run: DriftSource, tokenRows: number, neighbours: ReadonlyMap<number, number[]>, pcaRows: number): Figure {
  const { drift, base } = run;
  const hidden = drift.hidden;
  const newSet = new Set(run.newIds);
  const existing = Array.from({ length: tokenRows }, (_, i) => i).filter((i) => !newSet.has(i));
  const stride = Math.max(1, Math.ceil(existing.length / pcaRows));
  const fitIds = existing.filter((_, i) => i % stride === 0);
  const fitRows = rowsOf(base, fitIds);
  const pca = fitPca(fitRows, fitIds.length, hidden, 2);
  const background = fitIds.map((_, i) => pca.project(fitRows.subarray(i * hidden, (i + 1) * hidden)));
  const neighbourIds = [...new Set([...neighbours.values()].flat())];
  const neighbourRows = rowsOf(base, neighbourIds);
  const neighbourPoints = neighbourIds.map((_, i) => pca.project(neighbourRows.subarray(i * hidden, (i + 1) * hidden)));
  const traces: PlotlyTrace[] = [
    {
      type: "scatter",
      mode: "markers",
      name: "existing tokens",
      x: background.map((p) => p[0]),
      y: background.map((p) => p[1]),
      marker: { color: "#ccc", size: 4 },
      hoverinfo: "skip",
    },
    {
      type: "scatter",
      mode: "markers+text",
      name: "nearest existing tokens",
      x: neighbourPoints.map((p) => p[0]),
      y: neighbourPoints.map((p) => p[1]),
      text: neighbourIds.map((id) => base.tokenizer.decode([id])),
      textposition: "top center",
      marker: { color: "#888", size: 7 },
    },
    ...run.newIds.map((id): PlotlyTrace => {
      const points = drift.checkpoints.map((_, index) => pca.project(drift.row(index, id)));
      const token = base.tokenizer.decode([id]);
      return {
        type: "scatter",
        mode: "lines+markers+text",
        name: token,
        x: points.map((p) => p[0]),
        y: points.map((p) => p[1]),
        text: points.map((_, i) => (i === points.length - 1 ? token : "")),
        customdata: drift.checkpoints.map((c) => c.step),
        hovertemplate: `${token} step %{customdata}<extra></extra>`,
        marker: { size: points.map((_, i) => (i === points.length - 1 ? 11 : 6)) },
      };
    }),
  ];
  const variance = pca.variances.map((v) => v.toPrecision(3));
  return new Figure({
    data: traces,
    layout: {
      title: { text: "new tokens' trajectories in the embedding's 2-D PCA" },
      xaxis: { title: { text: `PC1 (variance ${variance[0]})` } },
      yaxis: { title: { text: `PC2 (variance ${variance[1]})` } },
      height: 500,
    },
  });
}

/**
 * Rows `ids` of the model's embedding as training started (float32: widened when kept 16-bit, added
 * rows in place), copied off the device: only these rows, never the whole matrix (1.2 GB at 151k × 2048).
 */
function rowsOf(model: CausalLM, ids: readonly number[]): Float32Array {
  if (ids.length === 0) return new Float32Array(0);
  return tf.tidy(() => matrixRows(model, model.layout.embedding, ids).dataSync() as Float32Array).slice(); // a copy: some backends return their own buffer
}
