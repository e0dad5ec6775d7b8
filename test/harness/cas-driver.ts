// The stand-in SCONE CLI (sim/scone-cli) for integration tests, through the production local CasDriverSource
// (src/cas/driver/local-source.ts, `--scone-cli`): as argv for an in-process source, or as one executable file for a
// compiled operator's `--scone-cli PATH`.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalCasDriverSource } from "../../src/cas/driver/local-source.ts";
import type { CasDriverSource } from "../../src/cas/driver/reach.ts";
import type { ClusterConnection } from "../../src/kube/config.ts";
import { type PortForward, startPortForward } from "../../src/kube/port-forward.ts";
import { STAND_IN_CLI } from "./stand-in-world.ts";

// The stand-in CLI as argv[0..] (this Bun running sim/scone-cli/main.ts): one definition for every test.
export { STAND_IN_CLI };

/**
 * The stand-in CLI as one executable file, for what takes a binary path (`--scone-cli PATH`): a shell script in
 * `dir` that runs it. Arguments pass through unchanged ("$@"); nothing is interpolated into the script but the two
 * paths, quoted.
 */
export function writeStandInCli(dir: string): string {
  const quote = (s: string) => `'${s.replaceAll("'", `'"'"'`)}'`;
  const path = join(dir, "scone");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `#!/bin/sh\nexec ${STAND_IN_CLI.map(quote).join(" ")} "$@"\n`, { mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}

export interface StandInSourceOptions {
  readonly conn: ClusterConnection;
  /** The operator's state directory (its CLI identity goes under it). */
  readonly stateDir: string;
  /** Open forwards by "namespace/pod", kept across connections for the test's speed; the caller closes them. */
  readonly forwards: Map<string, PortForward>;
  readonly timeoutMs?: number;
}

/** A forward the source may "close" after each connection while the test keeps it open; reports only new errors. */
function borrowed(forward: PortForward): PortForward {
  const seen = forward.lastError;
  return {
    localAddress: forward.localAddress,
    localPort: forward.localPort,
    get activeConnections() {
      return forward.activeConnections;
    },
    get lastError() {
      return forward.lastError !== seen ? forward.lastError : undefined;
    },
    close: async () => {},
  };
}

/** The local source running the stand-in, over port-forwards kept open in `forwards`. */
export function standInCliSource(o: StandInSourceOptions): CasDriverSource {
  return new LocalCasDriverSource({
    binary: STAND_IN_CLI,
    stateDir: o.stateDir,
    timeoutMs: o.timeoutMs ?? 20_000,
    portForward: async (options) => {
      const key = `${options.namespace}/${options.pod}`;
      let forward = o.forwards.get(key);
      if (!forward) {
        forward = await startPortForward(o.conn, options);
        o.forwards.set(key, forward);
      }
      return borrowed(forward);
    },
  });
}
