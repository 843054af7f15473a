// The public API of tokenlab: what a notebook cell or a Node script imports from "tokenlab".
// Explicit named exports only (types with `export type`), grouped by the layer they come from.

// Compute backend
export { initBackend, backend, BACKEND_NAMES } from "./backend/init-backend";
export type { BackendName } from "./backend/init-backend";
export { nativeBlasStatus, useNativeBlas } from "./backend/native-blas";
export type { NativeBlasStatus } from "./backend/native-blas";

// Hugging Face checkpoints and models
export { HfTokenizer } from "./hf/tokenizer";
export type { ChatMessage, TokenizerJson, TokenizerConfigJson } from "./hf/tokenizer";
export { readSafetensors, writeSafetensors } from "./hf/safetensors";
export { loadModel, saveModel } from "./models/load-model";
export type { LoadOptions, SaveOptions } from "./models/load-model";
export { AUTO_KEEP_BF16_ABOVE_BYTES } from "./models/keep-bf16";
export type { KeepBf16 } from "./models/keep-bf16";
export { SUPPORTED_ARCHITECTURES } from "./models/registry";
export type { CausalLM, WeightMap, ParameterLayout, GenerateOptions, ModelChanges } from "./models/causal-lm";
export type { RowOverlay, RowOverlays } from "./models/layers/embedding";
export { vocabRows, matrixRows, matrixRowReader, materializedMatrix, materializedWeights } from "./models/model-rows";
export type { ModelConfig } from "./models/model-config";
export { TransformerLM } from "./models/transformer-lm";
export { baseModelDir, loadBaseModel } from "./base-model/index";

// Adding tokens and initializing their embeddings
export { addTokens } from "./tokens/add-tokens";
export type { AddTokensOptions } from "./tokens/add-tokens";
export { AddTokensResult } from "./tokens/add-tokens-result";
export type { AddedTokenInfo } from "./tokens/add-tokens-result";
export type { TokenSpec, AddedTokenFlags } from "./tokens/token-spec";
export { AddTokensError } from "./tokens/add-tokens-error";
export type { InitStrategy, InitFunction, InitFunctionArgs } from "./tokens/init-strategies";
export { initReport, InitReport } from "./tokens/init-report";
export { showTokens } from "./tokens/show-tokens";

// Data and training
export { readTextFile, readJsonl } from "./data/examples";
export type { Example } from "./data/examples";
export { DataError } from "./data/data-error";
export { prepareData } from "./data/prepare-data";
export type { TrainingData, PrepareDataOptions } from "./data/prepare-data";
export { train, planRun } from "./train/train";
export type { ModelWithNewTokens } from "./train/train";
export type { StepRecord, EvalRecord, RunEvent, RunStatus } from "./train/run-records";
export { TrainingError } from "./train/training-error";
export { LayerGroupError } from "./train/layer-group-error";
export { crossEntropy, IGNORE_INDEX } from "./train/cross-entropy";
export { AdamW } from "./train/adamw";
export { clipGradients } from "./train/clip-gradients";
export { warmupCosineSchedule, constantSchedule } from "./train/schedules";
export { Run } from "./train/run";
export type { TrainResult } from "./train/run";
export type { TrainOptions, Strategy } from "./train/train-options";
export { layerGroups, selectGroups } from "./train/layer-groups";
export { lossFluctuation, FLUCTUATION_THRESHOLD } from "./train/loss-fluctuation";
export type { LossFluctuation } from "./train/loss-fluctuation";
export type { LayerGroup } from "./train/layer-groups";

// Export to a cluster engine (LLaMA-Factory, Trainer + PEFT)
export { exportRecipe } from "./export/export-recipe";
export type { ExportOptions, ExportResult } from "./export/export-recipe";
export type { Recipe, RecipeSource, RecipeFigures } from "./export/recipe";

// Headless experiments (tokenlab run)
export { parseExperiment, readExperimentFile } from "./experiment/experiment";
export type { Experiment, DataFile } from "./experiment/experiment";
export { experimentYaml } from "./experiment/experiment-yaml";
export { experimentOf, writeExperiment } from "./experiment/experiment-of-run";
export { runExperiment, resumeExperiment } from "./experiment/run-experiment";
export type { HeadlessOptions, HeadlessOutcome } from "./experiment/run-experiment";
export { ExperimentError } from "./experiment/experiment-error";
export { readRunState, writeRunState } from "./train/run-state";
export type { RunState } from "./train/run-state";

// Analysis
export { plotDrift } from "./analysis/plot-drift";
export { compareInits, InitComparison } from "./analysis/compare-inits";
export type { CompareInitsOptions, InitVariant } from "./analysis/compare-inits";
export { evaluate, EvaluationReport } from "./analysis/evaluate";
export type { EvaluationMetrics, EvaluateOptions } from "./analysis/evaluate";
export type { PlainTextEffects } from "./analysis/plain-text-effects";
export { meanInterval, pairedDifference, withinNoise, seedTable, formatMeanSd, formatInterval } from "./analysis/seed-statistics";
export type { Interval, SeedRecord } from "./analysis/seed-statistics";

// Display objects (render through Symbol.for("Jupyter.display"))
export { JUPYTER_DISPLAY, isDisplayable } from "./display/mime-bundle";
export type { MimeBundle, Displayable } from "./display/mime-bundle";
export { Figure, PLOTLY_MIME } from "./display/figure";
export type { FigureSpec, PlotlyTrace } from "./display/figure";
export { lineChart, scatterChart, barChart } from "./display/charts";
export { Table } from "./display/table";
export { ProgressBar } from "./display/progress-bar";
export { LiveDisplay } from "./display/live-display";
export { TokenlabError } from "./errors/tokenlab-error";

// Jupyter widgets (protocol 2.1, @jupyter-widgets/controls 2.0 models; state syncs both ways over comms)
export { Widget, widgetRef, WIDGET_VIEW_MIME, PROTOCOL_VERSION } from "./widgets/widget";
export type { WidgetState, Change } from "./widgets/widget";
export { Button, Text, FloatText, Dropdown, HTML, Box, hbox, vbox, Layout, Style } from "./widgets/controls";
export type { LayoutProperties } from "./widgets/controls";
export { WidgetError } from "./widgets/widget-error";
export { RunControls } from "./train/run-controls";
export { tokenPlayground, TokenPlayground, analyzeText, TextAnalysis } from "./tokens/token-playground";
export type { Prediction, PlaygroundOptions } from "./tokens/token-playground";
export { initChooser, InitChooser, previewInit, InitPreview, DEFAULT_INIT_CHOICES } from "./tokens/init-chooser";
export type { InitChoice, InitChooserOptions } from "./tokens/init-chooser";
export { Interactive } from "./widgets/interactive";
