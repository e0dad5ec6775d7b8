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
