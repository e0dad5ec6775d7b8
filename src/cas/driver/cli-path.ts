// `--scone-cli PATH`: the local SCONE CLI binary (upstream's `--no-docker`). Checked by the CLI's flag grammar and
// again by casDriverSource() (the operator and the API reach it without the CLI's check). No other imports: the
// CLI loads this at start.

/** What is wrong with a `--scone-cli` value; undefined for an existing regular file this user may execute. */
export function sconeCliProblem(path: string): string | undefined {
  if (path.trim() === "") return "give the path of the SCONE CLI binary (e.g. /opt/scone/bin/rust-cli)";
  // node:fs on demand: only a command given the flag pays for loading it.
  const { accessSync, constants, statSync } = require("node:fs") as typeof import("node:fs");
  try {
    if (!statSync(path).isFile()) return "not a regular file; give the path of the SCONE CLI binary";
    accessSync(path, constants.X_OK);
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EACCES")
      return "not executable by this user (chmod +x it, or give another binary)";
    return "no such file; give the path of an installed SCONE CLI (or omit --scone-cli to use the sconecli pod)";
  }
}

/** Where upstream's sconecli image and installs put the SCONE CLI (CLI §1 [crate: pub/engine.rs]). */
export const UPSTREAM_CLI_PATH = "/opt/scone/bin/rust-cli";

/**
 * `--no-docker` (upstream: run the locally installed SCONE CLI instead of its docker image): the CLI at
 * /opt/scone/bin/rust-cli, else `scone` on PATH unless that is this very program (scone shares the name).
 * Undefined when neither exists: the caller refuses the flag rather than ignoring it.
 */
export function localSconeCli(
  pathEnv: string | undefined,
  self: string,
  problem: (path: string) => string | undefined = sconeCliProblem,
): string | undefined {
  if (problem(UPSTREAM_CLI_PATH) === undefined) return UPSTREAM_CLI_PATH;
  const { realpathSync } = require("node:fs") as typeof import("node:fs");
  const { join } = require("node:path") as typeof import("node:path");
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  for (const dir of (pathEnv ?? "").split(":")) {
    if (dir === "") continue;
    const candidate = join(dir, "scone");
    if (problem(candidate) === undefined && real(candidate) !== real(self)) return candidate;
  }
  return undefined;
}
