/**
 * Base of every error tokenlab throws on purpose. `context` carries the facts a user needs to fix
 * the problem (a file path, a token, a step) so messages stay short and tooling can read them.
 */
export class TokenlabError extends Error {
  readonly context: Readonly<Record<string, unknown>>;

  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }
}
