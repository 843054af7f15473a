import { TokenlabError } from "../../lib/errors/tokenlab-error";

/**
 * A message the kernel drops without acting on it: its HMAC is missing or wrong, or its frames,
 * header or parent header are malformed (so no reply could be addressed to it).
 */
export class InvalidMessageError extends TokenlabError {}
