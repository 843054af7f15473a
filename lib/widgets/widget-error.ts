import { TokenlabError } from "../errors/tokenlab-error";

/** A widget given a state key it does not have, a malformed widget message, or a closed widget used. */
export class WidgetError extends TokenlabError {}
