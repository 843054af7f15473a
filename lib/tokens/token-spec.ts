import { withDefaultFlags, type AddedTokenFlags } from "../hf/added-tokens";
import { AddTokensError } from "./add-tokens-error";
import { optionChecks } from "../errors/option-checks";
import { checkInitStrategy, type InitStrategy } from "./init-strategies";

// Part of the token-spec vocabulary; defined in lib/hf because the tokenizer reads it from tokenizer.json.
export type { AddedTokenFlags };

/** One token to add: its text, optional flags, and how its embedding rows start. */
export interface TokenSpecObject extends Partial<AddedTokenFlags> {
  content: string;
  /** Overrides `options.init` for this token. */
  init?: InitStrategy;
  /** Shorthand for `init: {describe: description}` when `init` is not given. */
  description?: string;
}

export type TokenSpec = string | TokenSpecObject;

const FLAG_KEYS = ["special", "lstrip", "rstrip", "singleWord", "normalized"] as const satisfies ReadonlyArray<keyof AddedTokenFlags>;
const SPEC_KEYS: readonly string[] = ["content", "init", "description", ...FLAG_KEYS];

/** A spec with every flag decided, as it will be written to tokenizer.json. */
export interface ResolvedTokenSpec {
  content: string;
  flags: AddedTokenFlags;
  init: InitStrategy | undefined;
}

/**
 * Fills in flags with the defaults of `transformers`/`tokenizers`: `normalized` is true for normal
 * tokens and false for special ones; every other flag is false.
 */
export function resolveTokenSpec(spec: TokenSpec, index: number): ResolvedTokenSpec {
  const object: TokenSpecObject = typeof spec === "string" ? { content: spec } : spec;
  if (typeof object !== "object" || object === null || typeof object.content !== "string") {
    throw new AddTokensError(`token spec #${index} must be a string or {content: string, ...}`, { index, spec });
  }
  if (object.content.length === 0) {
    throw new AddTokensError(`token spec #${index} has empty content`, { index });
  }
  const checks = optionChecks(AddTokensError, `token spec #${index} (${JSON.stringify(object.content)}) option`);
  if (typeof spec === "object") checks.knownKeys(spec, SPEC_KEYS);
  for (const flag of FLAG_KEYS) checks.boolean(flag, object[flag]);
  if (object.description !== undefined && typeof object.description !== "string") checks.fail("description", "must be a string", object.description);
  checkInitStrategy(checks, "init", object.init);
  const init =
    object.init ?? (object.description !== undefined ? { describe: object.description } : undefined);
  return {
    content: object.content,
    flags: withDefaultFlags(object),
    init,
  };
}

/** The flags that are set, as tokenizer.json names them, e.g. "special lstrip"; "none" when none is. */
export function describeFlags(flags: AddedTokenFlags): string {
  const parts: string[] = [];
  if (flags.special) parts.push("special");
  if (flags.lstrip) parts.push("lstrip");
  if (flags.rstrip) parts.push("rstrip");
  if (flags.singleWord) parts.push("single_word");
  if (flags.normalized) parts.push("normalized");
  return parts.join(" ") || "none";
}
