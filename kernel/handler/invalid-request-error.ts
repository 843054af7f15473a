import { TokenlabError } from "../../lib/errors/tokenlab-error";

/** A request whose content the kernel cannot act on; it is answered with an error reply naming the field. */
export class InvalidRequestError extends TokenlabError {}
