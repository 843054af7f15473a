/**
 * Declarations of the functions every cell can call without import. They go in front of the
 * previous cells' declarations on every conversion (tslab keeps only what cells declared).
 * The values live in the cell exports object (see CellExecutor), because the converter rewrites
 * names from earlier declarations to `exports.<name>`.
 */
export const CELL_PRELUDE = `declare global {
  /** Shows a value (or a mime bundle {"text/html": ...}); with {id, update: true} redraws that display in place. */
  function display(value: unknown, options?: { id?: string; update?: boolean }): void;
  /** Clears this cell's output; with wait=true only once new output arrives. */
  function clearOutput(wait?: boolean): void;
  /** Asks the frontend for a line of text (input_request on stdin). */
  function input(prompt?: string, options?: { password?: boolean }): Promise<string>;
}
`;

export interface CellGlobals {
  display(value: unknown, options?: { id?: string; update?: boolean }): void;
  clearOutput(wait?: boolean): void;
  input(prompt?: string, options?: { password?: boolean }): Promise<string>;
}
