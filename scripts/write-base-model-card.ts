/**
 * Re-measures a pretrained checkpoint and rewrites its README.md model card (pretrain-base does
 * this at the end of a run): `node --import tsx scripts/write-base-model-card.ts [DIR]`.
 */
import * as path from "node:path";
import { baseModelDir } from "../lib/base-model";
import { writeModelCard } from "./base-model/write-model-card";

const dir = path.resolve(process.argv[2] ?? baseModelDir());
writeModelCard(dir).then(
  (evaluation) => console.log(`${dir}/README.md written; held-out perplexity ${Math.exp(evaluation.heldOutLoss).toFixed(2)}`),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
