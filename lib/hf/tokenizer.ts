import * as fs from "node:fs";
import * as path from "node:path";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { TokenlabError } from "../errors/tokenlab-error";
import { RustCompatibleEncoder } from "./rust-compatible-encoder";

/** JSON as Hugging Face writes it; kept as plain objects so files round-trip unchanged. */
export type TokenizerJson = Record<string, any>;
export type TokenizerConfigJson = Record<string, any>;

export interface ChatMessage {
  role: string;
  content: string;
}

/**
 * A Hugging Face tokenizer loaded from local files by the HF JS implementation
 * (@huggingface/tokenizers, the tokenizer core of transformers.js). `encode` gives the ids of the Rust `tokenizers` library (what Python
 * uses), also where the JS tokenizer deviates around added tokens (see rust-compatible-encoder.ts).
 * Immutable: adding tokens builds a new instance from edited JSON.
 */
export class HfTokenizer {
  private readonly impl: Tokenizer;
  /** Built on the first encode (it loads the tokenizer JSON a second time); a cache, not state. */
  private encoder: RustCompatibleEncoder | undefined;
  /** The parsed chat_template, built on first use; a cache, not state. */
  private chatTemplateCache: Template | undefined;
  private readonly idToTokenTable: Map<number, string>;
  private readonly tokenToIdTable: Map<string, number>;
  /**
   * Number of token ids the tokenizer can produce (highest id + 1), added tokens included.
   * A field, not a getter: callers loop `id < size`, and the instance never changes.
   */
  readonly size: number;

  private constructor(
    readonly tokenizerJson: Readonly<TokenizerJson>,
    readonly tokenizerConfig: Readonly<TokenizerConfigJson>,
  ) {
    try {
      this.impl = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (cause) {
      throw new TokenlabError(`tokenizer.json could not be loaded: ${(cause as Error).message}`, {}, { cause });
    }
    this.tokenToIdTable = this.impl.get_vocab();
    this.idToTokenTable = new Map([...this.tokenToIdTable].map(([token, id]) => [id, token]));
    let maxId = -1;
    for (const id of this.idToTokenTable.keys()) maxId = Math.max(maxId, id);
    this.size = maxId + 1;
  }

  static fromJson(tokenizerJson: TokenizerJson, tokenizerConfig: TokenizerConfigJson = {}): HfTokenizer {
    if (typeof tokenizerJson !== "object" || tokenizerJson === null || typeof tokenizerJson.model !== "object") {
      throw new TokenlabError("tokenizer.json has no `model` section; is this a Hugging Face tokenizer.json?");
    }
    return new HfTokenizer(tokenizerJson, tokenizerConfig);
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

  /** Token ids of `text`, exactly as Python's `tokenizer.encode(text, add_special_tokens=...)`. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    this.encoder ??= new RustCompatibleEncoder(this.tokenizerJson, this.tokenizerConfig);
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
    return this.idToTokenTable.get(id);
  }

  tokenToId(token: string): number | undefined {
    return this.tokenToIdTable.get(token);
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
