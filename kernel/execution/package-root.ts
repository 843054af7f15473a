import { join } from "node:path";

/** The tokenlab package directory (holds package.json, lib/, kernel/). */
export const PACKAGE_ROOT = join(__dirname, "..", "..");
export const PACKAGE_NAME = "tokenlab";
