import { TokenlabError } from "../errors/tokenlab-error";

/**
 * A training run that cannot start or had to stop: bad options, a non-finite loss or gradient.
 * `context` names the step and the layer group(s) involved.
 */
export class TrainingError extends TokenlabError {}
