import { TokenlabError } from "../../lib/errors/tokenlab-error";

export class UnknownCommTargetError extends TokenlabError {}
