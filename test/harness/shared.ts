// Where ../shared (the reference material beside the repository) is: CI clones the repo with shared/ beside it.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const candidates = [process.env.SCONE_SHARED_DIR, resolve(import.meta.dir, "../../../shared"), "/work/shared"];
export const SHARED_DIR: string =
  candidates.find((d): d is string => d !== undefined && existsSync(join(d, "reference"))) ?? "/work/shared";
export const sharedPath = (...parts: string[]): string => join(SHARED_DIR, ...parts);
