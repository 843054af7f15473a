import { TokenlabError } from "../errors/tokenlab-error";

/** A bad experiment file: the message names the file, the line and the key (`train.steps`). */
export class ExperimentError extends TokenlabError {}
