import { TokenlabError } from "../errors/tokenlab-error";
import { loadModel } from "../models/load-model";
import { NAMED_STRATEGIES, type Strategy, type TrainOptions } from "../train/train-options";
import { exportRecipe, type ExportResult } from "./export-recipe";

type NumberFlag = "--steps" | "--batch-size" | "--lr" | "--embedding-lr" | "--seq-len" | "--eval-fraction" | "--seed" | "--unfreeze-every";

/** Each numeric flag and the train option it sets. */
const NUMBER_FLAGS: Record<NumberFlag, (options: TrainOptions, value: number) => void> = {
  "--steps": (o, v) => (o.steps = v),
  "--batch-size": (o, v) => (o.batchSize = v),
  "--lr": (o, v) => (o.lr = v),
  "--embedding-lr": (o, v) => (o.embeddingLr = v),
  "--seq-len": (o, v) => (o.seqLen = v),
  "--eval-fraction": (o, v) => (o.evalFraction = v),
  "--seed": (o, v) => (o.seed = v),
  "--unfreeze-every": (o, v) => (o.unfreeze = { every: v }),
};

/**
 * `tokenlab export`: loads CHECKPOINT (saved after addTokens), marks the named tokens as the new
 * ones and exports the recipe `train` would run with these options. Bad arguments throw a
 * TokenlabError before anything is written.
 */
export async function exportCommand(argv: readonly string[]): Promise<ExportResult> {
  const positional: string[] = [];
  const newTokens: string[] = [];
  const train: TrainOptions = { display: false };
  let data: string | undefined;
  let overwrite = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new TokenlabError(`${arg} needs a value`, { flag: arg });
      return next;
    };
    if (arg === "--overwrite") overwrite = true;
    else if (arg === "--data") data = value();
    else if (arg === "--new-token") newTokens.push(value());
    else if (arg === "--strategy") train.strategy = parseStrategy(value());
    else if (arg in NUMBER_FLAGS) NUMBER_FLAGS[arg as NumberFlag](train, parseNumber(arg, value()));
    else if (arg.startsWith("--")) throw new TokenlabError(`unknown option ${arg}`, { flag: arg });
    else positional.push(arg);
  }
  if (positional.length !== 2) throw new TokenlabError(`tokenlab export needs CHECKPOINT and OUT_DIR, got ${positional.length} path(s)`, { paths: positional });
  if (!data) throw new TokenlabError("tokenlab export needs --data FILE (the training examples: .jsonl or text)");
  if (newTokens.length === 0) throw new TokenlabError("tokenlab export needs at least one --new-token TOKEN (a token added to the checkpoint)");
  const [checkpoint, out] = positional;
  const model = await loadModel(checkpoint);
  try {
    const newIds = newTokens.map((token) => {
      const id = model.tokenizer.tokenToId(token);
      if (id === undefined) throw new TokenlabError(`${JSON.stringify(token)} is not in the tokenizer of ${checkpoint}; add it with addTokens and save first`, { token });
      return id;
    });
    return await exportRecipe({ model, newIds }, out, { data, train, overwrite });
  } finally {
    model.dispose();
  }
}

function parseStrategy(text: string): Strategy {
  const named = NAMED_STRATEGIES.find((strategy) => strategy === text);
  return named ?? text.split(",").map((s) => s.trim());
}

function parseNumber(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new TokenlabError(`${flag} needs a number, got ${JSON.stringify(text)}`, { flag });
  return value;
}
