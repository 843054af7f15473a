import type { NotebookCell } from "./notebook-file";

export interface CellOptions {
  /** `nbval-skip`: not executed at all */
  skip: boolean;
  /** whether outputs are compared: not for `nbval-ignore-output`; with --lax only for `nbval-check-output` */
  compare: boolean;
  /**
   * `raises-exception`: an error does not fail the cell. As in nbval, a tagged cell that raises nothing
   * is not failed for that; its outputs are compared like any cell's (a saved error then differs).
   */
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
