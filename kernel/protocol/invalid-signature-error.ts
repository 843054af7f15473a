import { TokenlabError } from "../../lib/errors/tokenlab-error";

/** A message whose HMAC is missing or wrong; the kernel drops it without acting on it. */
export class InvalidSignatureError extends TokenlabError {}
