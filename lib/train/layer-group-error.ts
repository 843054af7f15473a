import { TokenlabError } from "../errors/tokenlab-error";

/** A layer-group selector or layout that cannot be resolved (context lists the groups that exist). */
export class LayerGroupError extends TokenlabError {}
