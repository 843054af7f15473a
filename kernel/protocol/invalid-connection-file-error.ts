import { TokenlabError } from "../../lib/errors/tokenlab-error";

export class InvalidConnectionFileError extends TokenlabError {}
