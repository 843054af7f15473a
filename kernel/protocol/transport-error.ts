import { TokenlabError } from "../../lib/errors/tokenlab-error";

export class TransportError extends TokenlabError {}
