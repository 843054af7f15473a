import { TokenlabError } from "../../lib/errors/tokenlab-error";

export class StdinNotAllowedError extends TokenlabError {}
