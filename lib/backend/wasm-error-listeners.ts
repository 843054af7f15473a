import { inspect } from "node:util";

/**
 * tfjs-backend-wasm's emscripten glue adds process listeners for 'uncaughtException' and
 * 'unhandledRejection' that rethrow. Node then reports the rethrow site — one ~20 KB line of
 * minified glue — instead of the script's error, and a rethrow from a listener hides the real stack.
 *
 *   const before = errorListeners();  // before the wasm module is instantiated
 *   ...instantiate...
 *   replaceWasmErrorListeners(before);
 *
 * removes the listeners added in between (Node's default handling of unhandled rejections applies
 * again: they become uncaught exceptions) and adds `reportAndExit` for uncaught exceptions.
 */
const EVENTS = ["uncaughtException", "unhandledRejection"] as const;
type ErrorListeners = Record<(typeof EVENTS)[number], Function[]>;

export function errorListeners(): ErrorListeners {
  return { uncaughtException: process.listeners("uncaughtException"), unhandledRejection: process.listeners("unhandledRejection") };
}

export function replaceWasmErrorListeners(before: ErrorListeners): void {
  const emitter: NodeJS.EventEmitter = process; // its generic signature covers both events
  for (const event of EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before[event].includes(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  if (!process.listeners("uncaughtException").includes(reportAndExit)) process.on("uncaughtException", reportAndExit);
}

/**
 * Node's own report of an uncaught error, minus the source line of the throw site (which, for an
 * error raised inside the wasm glue, is the whole minified module): the error's stack and fields,
 * then exit code 1. Stands down when anyone else listens (the kernel, mocha, the user's script):
 * they decide what an uncaught error means there.
 */
function reportAndExit(error: unknown): void {
  if (process.listenerCount("uncaughtException") > 1) return;
  process.stderr.write(`Uncaught ${inspect(error)}\n`);
  process.exit(1);
}
