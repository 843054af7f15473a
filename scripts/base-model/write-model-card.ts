import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../lib/hf/atomic-write";
import { loadModel } from "../../lib/models/load-model";
import { EOS_TOKEN_ID, NEIGHBOUR_PROBE_WORDS, SAMPLE_PROMPTS, SAMPLING } from "./base-model-spec";
import { readBrownDocuments, splitBrownDocuments } from "./brown-corpus";
import { wordNeighbours } from "./embedding-neighbours";
import { heldOutLoss, heldOutWindows } from "./held-out-loss";
import { renderModelCard, type CheckpointEvaluation, type TrainerState } from "./model-card";
import { tokenStream } from "./token-windows";
import { unigramCrossEntropy } from "./unigram-baseline";

/**
 * Measures the saved checkpoint in `dir` (held-out loss, unigram baseline, embedding neighbours)
 * and writes its README.md model card from those figures and the run's trainer_state.json.
 * Returns the evaluation.
 */
export async function writeModelCard(dir: string): Promise<CheckpointEvaluation> {
  const model = await loadModel(dir);
  try {
    const state = JSON.parse(fs.readFileSync(path.join(dir, "trainer_state.json"), "utf8")) as TrainerState;
    const { train, heldOut } = splitBrownDocuments(readBrownDocuments());
    const heldOutTexts = heldOut.map((document) => document.text);
    const heldOutStream = tokenStream(model.tokenizer, heldOutTexts, EOS_TOKEN_ID);
    const trainStream = tokenStream(model.tokenizer, train.map((document) => document.text), EOS_TOKEN_ID);
    const embedding = model.weights.get(model.layout.embedding)!;
    const embeddingData = embedding.dataSync() as Float32Array;
    const hidden = embedding.shape[1] as number;
    const evaluation: CheckpointEvaluation = {
      parameterCount: [...model.weights.values()].reduce((sum, tensor) => sum + tensor.size, 0),
      safetensorsBytes: fs.statSync(path.join(dir, "model.safetensors")).size,
      heldOutChars: heldOutTexts.reduce((sum, text) => sum + Buffer.byteLength(text), 0),
      heldOutLoss: heldOutLoss(model, model.weights, heldOutWindows(heldOutStream)),
      // Positions 1.. are the predicted ones, as in the windows above.
      unigramHeldOutLoss: unigramCrossEntropy(trainStream, heldOutStream.subarray(1), model.config.vocabSize),
      neighbours: NEIGHBOUR_PROBE_WORDS.map((word) => ({
        word,
        neighbours: wordNeighbours(model.tokenizer, embeddingData, hidden, word, 10),
      })),
      samples: [],
    };
    for (const prompt of SAMPLE_PROMPTS) {
      const { text } = await model.generate(prompt, SAMPLING);
      evaluation.samples.push({ prompt, continuation: text });
    }
    writeFileAtomic(path.join(dir, "README.md"), renderModelCard(state, evaluation, model.config.raw));
    return evaluation;
  } finally {
    model.dispose();
  }
}
