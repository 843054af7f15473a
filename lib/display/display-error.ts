import { TokenlabError } from "../errors/tokenlab-error";

/** A figure, table or live display that cannot be built from the values given. */
export class DisplayError extends TokenlabError {}
