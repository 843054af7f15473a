import { TokenlabError } from "../errors/tokenlab-error";

/** Training data that cannot be read or prepared (context names the file, line or example). */
export class DataError extends TokenlabError {}
