import type { NotebookCell } from "./notebook-file";

export interface CellOptions {
  /** `nbval-skip`: not executed at all */
  skip: boolean;
  /** whether outputs are compared: not for `nbval-ignore-output`; with --lax only for `nbval-check-output` */
  compare: boolean;
  /** `raises-exception`: an error is expected and does not fail the cell */
  raisesException: boolean;
}

/** nbval's cell tags (TypeScript notebooks cannot use its `# NBVAL_*` comment markers). */
export function cellOptions(cell: NotebookCell, lax: boolean): CellOptions {
  const tags = new Set(cell.metadata.tags ?? []);
  const unrun = cell.execution_count === null || cell.execution_count === undefined; // nothing saved to compare with
  return {
    skip: tags.has("nbval-skip"),
    compare: !unrun && !tags.has("nbval-ignore-output") && (lax ? tags.has("nbval-check-output") : true),
    raisesException: tags.has("raises-exception"),
  };
}
