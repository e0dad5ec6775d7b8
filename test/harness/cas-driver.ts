// A CasDriverSource for integration tests (src/cas/driver/reach.ts): the stand-in SCONE CLI (sim/scone-cli) run as a
// local binary, reaching each CAS through a port-forward to NAME-0's client port that stays open for the test's
// speed (the caller closes the forwards). The operator's identity has its own CLI config under `stateDir`.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CasDriver } from "../../src/cas/driver/driver.ts";
import { CAS_CLIENT_PORT, type CasDriverSource } from "../../src/cas/driver/reach.ts";
import { LocalCliRunner } from "../../src/cas/driver/runner.ts";
import type { ClusterConnection } from "../../src/kube/config.ts";
import { type PortForward, startPortForward } from "../../src/kube/port-forward.ts";

/** The stand-in CLI as argv[0..]: this Bun running sim/scone-cli/main.ts. */
export const STAND_IN_CLI: readonly string[] = [process.execPath, join(import.meta.dir, "../../sim/scone-cli/main.ts")];

export interface StandInSourceOptions {
  readonly conn: ClusterConnection;
  /** The operator identity's CLI config goes to `<stateDir>/operator/config.json`. */
  readonly stateDir: string;
  /** Open forwards by "namespace/name"; the caller closes them. */
  readonly forwards: Map<string, PortForward>;
  /** Variables every CLI call gets (the stand-in's own settings). */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export function standInCliSource(o: StandInSourceOptions): CasDriverSource {
  const operatorDir = join(o.stateDir, "operator");
  mkdirSync(operatorDir, { recursive: true, mode: 0o700 });
  return {
    description: `stand-in SCONE CLI ${STAND_IN_CLI.join(" ")}`,
    async connect(cas, identity, signal) {
      signal?.throwIfAborted();
      const key = `${cas.namespace}/${cas.name}`;
      let forward = o.forwards.get(key);
      if (!forward) {
        forward = await startPortForward(o.conn, {
          namespace: cas.namespace,
          pod: `${cas.name}-0`,
          port: cas.clientPort ?? CAS_CLIENT_PORT,
        });
        o.forwards.set(key, forward);
      }
      const runner = new LocalCliRunner({
        binary: STAND_IN_CLI,
        configPath: identity.kind === "owner" ? identity.configPath : join(operatorDir, "config.json"),
        ...(o.env ? { env: o.env } : {}),
        timeoutMs: o.timeoutMs ?? 20_000,
      });
      // The forward outlives connections: only a failure seen during this one explains this one's CLI failures.
      const seen = forward.lastError;
      const open = forward;
      return {
        driver: new CasDriver(runner),
        address: `127.0.0.1:${forward.localPort}`,
        release: async () => {},
        transportError: () => (open.lastError !== seen ? open.lastError : undefined),
      };
    },
  };
}
