import * as fs from "node:fs";
import * as path from "node:path";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { TokenlabError } from "../errors/tokenlab-error";
import { parseAddedTokens } from "./added-tokens";
import { RustCompatibleEncoder } from "./rust-compatible-encoder";

/** JSON as Hugging Face writes it; kept as plain objects so files round-trip unchanged. */
export type TokenizerJson = Record<string, any>;
export type TokenizerConfigJson = Record<string, any>;

export interface ChatMessage {
  role: string;
  content: string;
}

/** What tokenizers that differ only in added tokens share (see `withAddedTokens`). */
interface SharedVocab {
  /** token → id of the tokenizer parsed from JSON: its model vocab and its added tokens. */
  readonly tokenToId: ReadonlyMap<string, number>;
  /** The encoder's JS components (see RustCompatibleEncoder.core), built on the first encode of any sharer; a cache. */
  encoderCore?: Tokenizer;
}

/**
 * A Hugging Face tokenizer loaded from local files by the HF JS implementation
 * (@huggingface/tokenizers, the tokenizer core of transformers.js). `encode` gives the ids of the Rust `tokenizers` library (what Python
 * uses), also where the JS tokenizer deviates around added tokens (see rust-compatible-encoder.ts).
 * Immutable: adding tokens builds a new instance from edited JSON, sharing the parsed model vocab.
 */
export class HfTokenizer {
  /** Built on the first encode; a cache, not state. */
  private encoder: RustCompatibleEncoder | undefined;
  /** The parsed chat_template, built on first use; a cache, not state. */
  private chatTemplateCache: Template | undefined;
  /**
   * Number of token ids the tokenizer can produce (highest id + 1), added tokens included.
   * A field, not a getter: callers loop `id < size`, and the instance never changes.
   */
  readonly size: number;

  private constructor(
    readonly tokenizerJson: Readonly<TokenizerJson>,
    readonly tokenizerConfig: Readonly<TokenizerConfigJson>,
    /** The JS tokenizer that decodes. */
    private readonly impl: Tokenizer,
    private readonly shared: SharedVocab,
    /** Added tokens beyond those of the tokenizer `shared` was parsed for: content → id. */
    private readonly addedIds: ReadonlyMap<string, number>,
  ) {
    const vocab = this.vocab;
    let size = vocab.length;
    while (size > 0 && vocab[size - 1] === undefined) size--;
    this.size = size;
  }

  static fromJson(tokenizerJson: TokenizerJson, tokenizerConfig: TokenizerConfigJson = {}): HfTokenizer {
    if (typeof tokenizerJson !== "object" || tokenizerJson === null || typeof tokenizerJson.model !== "object") {
      throw new TokenlabError("tokenizer.json has no `model` section; is this a Hugging Face tokenizer.json?");
    }
    let impl: Tokenizer;
    try {
      impl = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (cause) {
      throw new TokenlabError(`tokenizer.json could not be loaded: ${(cause as Error).message}`, {}, { cause });
    }
    return new HfTokenizer(tokenizerJson, tokenizerConfig, impl, { tokenToId: impl.get_vocab() }, new Map());
  }

  /** Reads tokenizer.json and (if present) tokenizer_config.json from a checkpoint directory. */
  static fromDirectory(dir: string): HfTokenizer {
    const tokenizerPath = path.join(dir, "tokenizer.json");
    if (!fs.existsSync(tokenizerPath)) {
      throw new TokenlabError(`missing tokenizer file ${tokenizerPath}`, { dir });
    }
    const configPath = path.join(dir, "tokenizer_config.json");
    const config = fs.existsSync(configPath) ? readJson(configPath) : {};
    return HfTokenizer.fromJson(readJson(tokenizerPath), config);
  }

  /**
   * This tokenizer with tokenizer.json `added_tokens` and tokenizer_config.json `added_tokens_decoder`
   * replaced by the given ones, which keep every added token of this tokenizer (same id, same
   * content) and add others. The model vocab and merges are not parsed again (~1 s at 150k tokens):
   * a BPE tokenizer shares them with this one; the decoding JS tokenizer is built around a model
   * without vocab and merges and given the id → token table (decoding reads nothing else of the model).
   */
  withAddedTokens(addedTokens: ReadonlyArray<Record<string, any>>, addedTokensDecoder: Record<string, unknown>): HfTokenizer {
    const tokenizerJson: TokenizerJson = { ...this.tokenizerJson, added_tokens: addedTokens };
    const tokenizerConfig: TokenizerConfigJson = { ...this.tokenizerConfig, added_tokens_decoder: addedTokensDecoder };
    const keepsOwn = [...parseAddedTokens(this.tokenizerJson)].every(([id, { content }]) => addedTokens.some((t) => t.id === id && t.content === content));
    if (this.tokenizerJson.model.type !== "BPE" || !keepsOwn) return HfTokenizer.fromJson(tokenizerJson, tokenizerConfig);
    const impl = new Tokenizer({ ...tokenizerJson, model: { ...tokenizerJson.model, vocab: {}, merges: [] } }, tokenizerConfig);
    const vocab = this.vocab.slice();
    const addedIds = new Map(this.addedIds);
    for (const { id, content } of addedTokens) {
      vocab[id] = content;
      addedIds.set(content, id);
    }
    impl.model!.vocab = vocab;
    return new HfTokenizer(tokenizerJson, tokenizerConfig, impl, this.shared, addedIds);
  }

  /** Token ids of `text`, exactly as Python's `tokenizer.encode(text, add_special_tokens=...)`. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    this.shared.encoderCore ??= RustCompatibleEncoder.core(this.tokenizerJson, this.tokenizerConfig);
    this.encoder ??= new RustCompatibleEncoder(this.tokenizerJson, this.shared.encoderCore);
    return this.encoder.encode(text, { addSpecialTokens: options.addSpecialTokens ?? false });
  }

  /**
   * The JS tokenizer's decode. It matches Rust except for non-ASCII added tokens with a byte-level
   * decoder: Rust passes their content through the ByteLevel decoder ("<é0>" → "<�0>"), JS keeps it.
   */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    // Like Python's tokenizer.decode([]); the JS tokenizer throws on an empty list.
    if (ids.length === 0) return "";
    return this.impl.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.vocab[id] : undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.addedIds.get(token) ?? this.shared.tokenToId.get(token);
  }

  /** id → token of the decoding JS tokenizer (model vocab and added tokens; undefined in gaps). */
  private get vocab(): ReadonlyArray<string | undefined> {
    return this.impl.model!.vocab;
  }

  get eosTokenId(): number | undefined {
    const eos = specialTokenContent(this.tokenizerConfig, "eos_token");
    return eos === undefined ? undefined : this.tokenToId(eos);
  }

  get chatTemplate(): string | undefined {
    const template = this.tokenizerConfig.chat_template;
    return typeof template === "string" ? template : undefined;
  }

  /** Renders a conversation with the checkpoint's `chat_template` (Jinja), as transformers does. */
  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.chatTemplate) throw new TokenlabError("this tokenizer has no chat_template in tokenizer_config.json");
    this.chatTemplateCache ??= new Template(this.chatTemplate);
    // The variables transformers passes to every chat template: the messages, the flag and the
    // special tokens named in tokenizer_config.json.
    const specialTokens: Record<string, string> = {};
    for (const key of SPECIAL_TOKEN_KEYS) {
      const content = specialTokenContent(this.tokenizerConfig, key);
      if (content !== undefined) specialTokens[key] = content;
    }
    return this.chatTemplateCache.render({
      messages: messages as unknown as Record<string, unknown>[],
      add_generation_prompt: options.addGenerationPrompt ?? false,
      ...specialTokens,
    });
  }
}

const SPECIAL_TOKEN_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

/** A special token named in tokenizer_config.json, written either as a string or as an AddedToken object. */
function specialTokenContent(config: Readonly<TokenizerConfigJson>, key: string): string | undefined {
  const value = config[key];
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "object" && value !== null && typeof value.content === "string") return value.content;
  return undefined;
}

function readJson(file: string): Record<string, any> {
  const text = fs.readFileSync(file, "utf8");
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TokenlabError(`${file} is not valid JSON: ${(cause as Error).message}`, { file }, { cause });
  }
}
