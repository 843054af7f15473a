import { TokenlabError } from "../../lib/errors/tokenlab-error";

/** A notebook or option `tokenlab nbtest` cannot work with: unreadable file, bad sanitizer, bad flag. */
export class NbtestError extends TokenlabError {}
