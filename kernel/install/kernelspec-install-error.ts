import { TokenlabError } from "../../lib/errors/tokenlab-error";

export class KernelspecInstallError extends TokenlabError {}
