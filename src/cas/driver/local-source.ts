// The local CasDriverSource (`--scone-cli PATH`, upstream's `--no-docker`, SCONE-INTERFACE §10.1): a SCONE CLI binary
// on this machine, reaching CAS through a port-forward to pod NAME-0's client port via the API server, as
// `kubectl provision --no-docker` does (§10.2 step 10). The owner's config is used in place; the operator's own
// identity lives under the operator's state directory.
import { chmod, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { PortForward, PortForwardOptions } from "../../kube/port-forward.ts";
import { CONFIG_LOCKS, changesConfig, configLockKey, ensurePrivateDir } from "./config-sync.ts";
import { CasDriver } from "./driver.ts";
import { CAS_CLIENT_PORT, type CasConnection, type CasDriverSource, type CasRef, type CliIdentity } from "./reach.ts";
import { type CliRunner, LocalCliRunner } from "./runner.ts";

/** Opens a port-forward (src/kube/port-forward.ts's startPortForward, bound to a cluster connection). */
export type OpenPortForward = (options: PortForwardOptions) => Promise<PortForward>;

/** Where the operator's own CLI config lives under its state directory. */
export const operatorConfigPath = (stateDir: string) => join(stateDir, "scone-cli", "config.json");

export interface LocalSourceOptions {
  /** The SCONE CLI: the binary path (`--scone-cli PATH`), possibly with leading words (["bun", "main.ts"]). */
  readonly binary: readonly string[];
  readonly portForward: OpenPortForward;
  /** The operator's state directory (the operator identity's config goes under it). */
  readonly stateDir: string;
  /** Variables every CLI call gets (names checked by the runner). */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly warn?: (message: string) => void;
  /**
   * The CAS key hash of a CAS as its console prints it (the pin provisioning and the probe attest with). Given, every
   * connection of an identity that has a config attests the CAS at its own forward address first: the CLI keeps
   * attestations per address (CLI §7 `cas_db`) and each connection has a new local port.
   */
  readonly casKeyHash?: (cas: CasRef, signal?: AbortSignal) => Promise<string | undefined>;
}

/**
 * Runs every call of one config under that config's gate (CLI §7: the file is stateful): a call that may write it
 * alone, reads side by side. A call that may have created or rewritten the config narrows its mode before the next.
 */
export class SerializedRunner implements CliRunner {
  readonly description: string;
  constructor(
    private readonly inner: CliRunner,
    private readonly configPath: string,
  ) {
    this.description = inner.description;
  }
  async run(...args: Parameters<CliRunner["run"]>) {
    const key = configLockKey(this.configPath);
    // A config, once there, is never removed by scone: "it exists" read before the gate stays true inside it.
    const exists = (await stat(this.configPath).catch(() => undefined)) !== undefined;
    if (!changesConfig(args[0], exists)) return CONFIG_LOCKS.runShared(key, () => this.inner.run(...args));
    return CONFIG_LOCKS.run(key, async () => {
      try {
        return await this.inner.run(...args);
      } finally {
        await narrowConfigMode(this.configPath);
      }
    });
  }
}

/** A config the CLI may have created with its default mode: the identity key must not be readable by others. */
async function narrowConfigMode(path: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (s && (s.mode & 0o077) !== 0) await chmod(path, 0o600);
}

/** The CLI config an identity uses locally. */
export function localConfigPath(identity: CliIdentity, stateDir: string): string {
  return identity.kind === "owner" ? identity.configPath : operatorConfigPath(stateDir);
}

export class LocalCasDriverSource implements CasDriverSource {
  readonly description: string;
  constructor(private readonly o: LocalSourceOptions) {
    this.description = `local SCONE CLI ${o.binary.join(" ")}`;
  }

  async connect(cas: CasRef, identity: CliIdentity, signal?: AbortSignal): Promise<CasConnection> {
    signal?.throwIfAborted();
    const configPath = localConfigPath(identity, this.o.stateDir);
    await ensurePrivateDir(dirname(configPath));
    await narrowConfigMode(configPath);
    const forward = await this.o.portForward({
      namespace: cas.namespace,
      pod: `${cas.name}-0`,
      port: cas.clientPort ?? CAS_CLIENT_PORT,
    });
    const runner = new LocalCliRunner({
      binary: this.o.binary,
      configPath,
      ...(this.o.env ? { env: this.o.env } : {}),
      ...(this.o.timeoutMs ? { timeoutMs: this.o.timeoutMs } : {}),
    });
    const driver = new CasDriver(new SerializedRunner(runner, configPath), this.o.warn);
    const address = `127.0.0.1:${forward.localPort}`;
    await this.attestHere(cas, driver, address, configPath, signal);
    let released: Promise<void> | undefined;
    return {
      driver,
      address,
      release: () => {
        released ??= forward.close().then(() => narrowConfigMode(configPath));
        return released;
      },
      // A tunnel failure (the node could not reach the CAS port) explains a CLI failure as an unreachable CAS.
      transportError: () => forward.lastError,
    };
  }

  /**
   * Upstream pins a local port and rewrites the config's `cas_db` key (SCONE-INTERFACE §10.2 steps 10–11); scone
   * never edits the CLI's config, so it attests again at this connection's address, pinned to the console's key
   * hash (`cas attest ADDR -c HASH`, CLI §4). An identity without a config has attested nothing yet (provisioning
   * attests itself). A refusal is not this connection's failure: the caller's CLI calls report it (the probe says why).
   */
  private async attestHere(
    cas: CasRef,
    driver: CasDriver,
    address: string,
    configPath: string,
    signal?: AbortSignal,
  ): Promise<void> {
    if (!this.o.casKeyHash || !(await stat(configPath).catch(() => undefined))) return;
    const casKeyHash = await this.o.casKeyHash(cas, signal).catch(() => undefined);
    if (!casKeyHash) return;
    try {
      await driver.attest({ address, casKeyHash, retries: 1 });
    } catch (err) {
      this.o.warn?.(
        `attesting CAS ${cas.namespace}/${cas.name} at ${address}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
