import { TokenlabError } from "../errors/tokenlab-error";

/** A request to add tokens or initialize their rows that cannot be carried out; nothing was changed. */
export class AddTokensError extends TokenlabError {}
