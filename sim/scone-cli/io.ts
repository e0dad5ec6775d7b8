// Small shared pieces of the stand-in CLI: output sinks, input files, the version it claims.
import { existsSync, readFileSync } from "node:fs";
import { CliFailure, type Env } from "./failure.ts";

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** `--version` prints `scone <this>`; SCONE_CLI_SIM_VERSION sets it (default 7.0.0) to test the version gate. */
export function cliVersion(env: Env): { text: string; major: number } {
  const text = env.SCONE_CLI_SIM_VERSION ?? "7.0.0";
  return { text, major: Number(text.split(".")[0]) };
}

export function readInput(path: string): string {
  if (!existsSync(path)) throw new CliFailure(`error: cannot read ${path}: no such file`);
  return readFileSync(path, "utf8");
}
