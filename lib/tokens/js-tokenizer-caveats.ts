import type { HfTokenizer } from "../hf/tokenizer";
import type { AddedTokenFlags } from "./token-spec";

/**
 * Where the Hugging Face JS tokenizer (@huggingface/tokenizers 0.2, used by HfTokenizer) splits
 * text differently from the Rust `tokenizers` library that Python uses, for a token with `flags`
 * added to `tokenizer`. Both were found by the parity tests in test/tokens/.
 * The files tokenlab writes are still exactly what Python expects, and RustCompatibleEncoder (used
 * by showTokens) encodes exactly like Python; only HfTokenizer.encode differs in these cases.
 */
export function jsTokenizerCaveats(tokenizer: HfTokenizer, flags: AddedTokenFlags): string[] {
  const caveats: string[] = [];
  if (flags.singleWord) {
    caveats.push(
      "single_word is ignored by the JS tokenizer: inside a word (e.g. 'x<tok>y') HfTokenizer.encode splits the token off, Python does not",
    );
  }
  const json = tokenizer.tokenizerJson;
  if (flags.normalized && json.normalizer && usesMetaspaceFirst(json.pre_tokenizer)) {
    caveats.push(
      "normalized token + Metaspace(prepend_scheme 'first'): HfTokenizer.encode prepends '▁' to the text right after the token, Python does not",
    );
  }
  return caveats;
}

function usesMetaspaceFirst(preTokenizer: any): boolean {
  if (!preTokenizer) return false;
  if (preTokenizer.type === "Sequence") return (preTokenizer.pretokenizers ?? []).some(usesMetaspaceFirst);
  return preTokenizer.type === "Metaspace" && preTokenizer.prepend_scheme === "first";
}
