import { moduleOf, newRowsLearningRate, trainerArguments, type EngineConfig } from "./llamafactory";
import type { Recipe } from "./recipe";

/**
 * train_peft.json: what train_peft.py reads — PEFT TrainableTokens restricted to the new ids (the
 * input embedding, plus an untied lm_head's own rows; a tied head shares the embedding's delta,
 * which PEFT does by itself when config.json says tie_word_embeddings) and the Trainer arguments.
 */
export function peftConfig(recipe: Recipe): EngineConfig {
  const { options, base, newIds, data } = recipe.plan;
  const exact: string[] = [];
  const approximate: string[] = [];
  const layout = base.layout;
  const targets = [moduleOf(layout.embedding), ...(layout.head ? [moduleOf(layout.head)] : [])];
  exact.push(
    `only the rows of the ${newIds.length} new token(s) train: TrainableTokensConfig(token_indices=[${newIds.join(", ")}], target_modules=${JSON.stringify(targets)})` +
      (layout.head ? "; the untied lm_head's rows through their own delta" : "; the tied lm_head shares the embedding's delta"),
    "tokenlab's packed rows and batch order (data/train_rows.jsonl, data/train_order.json): the same tokens, targets and batches at every step",
  );
  const training = trainerArguments(recipe, newRowsLearningRate(recipe, approximate), exact, approximate);
  const early = options.earlyStopping;
  if (data.eval.length > 0) approximate.push("eval loss: transformers averages per-batch means, tokenlab averages over all target tokens");
  if (early) approximate.push("early stopping: tokenlab counts its step-0 evaluation as the first best; transformers starts at the first evaluation after training begins");
  approximate.push("the explicit batch order holds for one process; with `accelerate launch` on several GPUs each draws its own rows");
  return {
    values: {
      peft: { token_indices: newIds, target_modules: targets },
      training_arguments: { output_dir: "output/peft", logging_steps: 1, report_to: "none", per_device_train_batch_size: options.batchSize, max_steps: recipe.stepOrder.length, seed: options.seed, ...(data.eval.length > 0 ? { per_device_eval_batch_size: options.batchSize } : {}), ...training },
      early_stopping: early ? { early_stopping_patience: early.patience, early_stopping_threshold: early.minDelta } : null,
    },
    exact,
    approximate,
  };
}

/**
 * train_peft.py: Hugging Face Trainer + PEFT TrainableTokens on the exported checkpoint. The same
 * text for every recipe (the recipe is in train_peft.json), so it is checked once: it compiles and
 * imports only names test/export/fixtures/python-api.json pins.
 */
export const PEFT_SCRIPT = `"""Train only the new tokens' rows of ./model, as tokenlab's "new-rows" strategy did.

Hugging Face Trainer + PEFT TrainableTokens restricted to the new token ids; a tied lm_head shares
the embedding's delta. Run from anywhere:  python train_peft.py
Reads train_peft.json (ids, Trainer arguments) and tokenlab's exact packed rows and batch order from
data/. Writes checkpoints to output/peft and the merged model to output/peft/merged.
"""
import json
import os

import torch
from peft import TrainableTokensConfig, get_peft_model
from torch.utils.data import DataLoader, Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, EarlyStoppingCallback, Trainer, TrainingArguments

HERE = os.path.dirname(os.path.abspath(__file__))
IGNORE_INDEX = -100


def read_json_lines(name):
    with open(os.path.join(HERE, "data", name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class PackedRows(Dataset):
    """tokenlab rows: labels[t] is already the target of position t. transformers shifts labels
    itself, so each row gets one more position: input_ids + [pad], labels = [-100] + labels. The
    extra position comes last, so under causal attention it changes no earlier logit, and nothing
    scores its own prediction."""

    def __init__(self, rows, pad_id):
        self.rows = rows
        self.pad_id = pad_id

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        row = self.rows[index]
        return {
            "input_ids": torch.tensor(row["input_ids"] + [self.pad_id]),
            "attention_mask": torch.tensor(row["attention_mask"] + [1]),
            "labels": torch.tensor([IGNORE_INDEX] + row["labels"]),
        }


class TokenlabOrderTrainer(Trainer):
    """Feeds step s the rows tokenlab trained on at step s (data/train_order.json)."""

    def get_train_dataloader(self):
        with open(os.path.join(HERE, "data", "train_order.json"), encoding="utf-8") as f:
            order = json.load(f)
        return DataLoader(self.train_dataset, batch_sampler=order, collate_fn=self.data_collator)


def main():
    with open(os.path.join(HERE, "train_peft.json"), encoding="utf-8") as f:
        recipe = json.load(f)
    model_dir = os.path.join(HERE, "model")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).float()
    model = get_peft_model(model, TrainableTokensConfig(**recipe["peft"]))
    model.print_trainable_parameters()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    arguments = dict(recipe["training_arguments"])
    arguments["output_dir"] = os.path.join(HERE, arguments["output_dir"])
    eval_rows = read_json_lines("eval_rows.jsonl")
    early = recipe["early_stopping"]
    trainer = TokenlabOrderTrainer(
        model=model,
        args=TrainingArguments(**arguments),
        train_dataset=PackedRows(read_json_lines("train_rows.jsonl"), pad_id),
        eval_dataset=PackedRows(eval_rows, pad_id) if eval_rows else None,
        callbacks=[EarlyStoppingCallback(**early)] if early else [],
    )
    trainer.train()
    merged_dir = os.path.join(arguments["output_dir"], "merged")
    trainer.model.merge_and_unload().save_pretrained(merged_dir)
    tokenizer.save_pretrained(merged_dir)


if __name__ == "__main__":
    main()
`;
