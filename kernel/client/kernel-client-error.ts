import { TokenlabError } from "../../lib/errors/tokenlab-error";

export class KernelClientError extends TokenlabError {}
