/** The steps of the real-size benchmark, in the order a child runs them (names only: no tfjs here). */
export const BENCH_STEPS = ["load", "addTokens", "forward", "newRowsStep", "gradualStep", "save"] as const;
/** The rest of the user flow (flow-steps.ts). */
export const FLOW_STEPS = [
  "initStrategies",
  "initReport",
  "prepareData",
  "fullStep",
  "generateGreedy",
  "generateSampled",
  "evaluate",
  "plotDrift",
  "saveFlow",
  "reload", // last: it frees the flow's models before loading the saved copy (flow-steps.ts)
] as const;
export const STEP_NAMES = [...BENCH_STEPS, ...FLOW_STEPS] as const;
export type FlowStep = (typeof FLOW_STEPS)[number];
export type StepName = (typeof STEP_NAMES)[number];
