import { HfTokenizer } from "../../lib/hf/tokenizer";
import type { BrownDocument } from "./brown-corpus";
import { SPECIAL_TOKENS, TOKENIZER_CONFIG, VOCAB_SIZE } from "./base-model-spec";
import { trainByteLevelBpe } from "./train-tokenizer";

/** The base model's tokenizer, learned from the training documents only (held-out text unseen). */
export function trainBaseTokenizer(trainDocuments: BrownDocument[]): HfTokenizer {
  const tokenizerJson = trainByteLevelBpe(
    trainDocuments.map((document) => document.text),
    { vocabSize: VOCAB_SIZE, specialTokens: SPECIAL_TOKENS },
  );
  return HfTokenizer.fromJson(tokenizerJson, TOKENIZER_CONFIG);
}
