// A CasDriverSource for tests over the stand-in SCONE CLI (sim/scone-cli): each identity has its own CLI config
// (SCONE_CLI_CONFIG), and each CAS one stable address (a simulator on loopback), so attestations (kept per address,
// CLI §7) carry over from one connection to the next. Production uses src/cas/driver/source.ts (the sconecli pod,
// or a local CLI over a port-forward).
import { CasDriver } from "../../src/cas/driver/driver.ts";
import {
  type CasConnection,
  type CasDriverSource,
  type CasRef,
  type CliIdentity,
  casServiceAddress,
} from "../../src/cas/driver/reach.ts";
import { type CliRunner, LocalCliRunner } from "../../src/cas/driver/runner.ts";

export interface LocalCliSourceOptions {
  /** The CLI, e.g. ["/usr/bin/scone"] or [bun, "sim/scone-cli/main.ts"]. */
  readonly binary: readonly string[];
  /** SCONE_CLI_CONFIG of the operator's own identity (undefined: the CLI's default, ~/.cas/config.json). */
  readonly operatorConfigPath?: string;
  /** The address the CLI is given for a CAS (default: its Service, casServiceAddress). */
  readonly address?: (cas: CasRef) => string;
  /** Variables every call gets (names checked by the runner). */
  readonly env?: Readonly<Record<string, string>>;
  /** Wraps each runner (tests record the calls). */
  readonly wrap?: (runner: CliRunner) => CliRunner;
}

export class LocalCliSource implements CasDriverSource {
  readonly description: string;
  /** One driver per config: the CLI version is asked once. */
  private readonly drivers = new Map<string, CasDriver>();
  constructor(private readonly o: LocalCliSourceOptions) {
    this.description = `local SCONE CLI ${o.binary.join(" ")}`;
  }

  async connect(cas: CasRef, identity: CliIdentity, _signal?: AbortSignal): Promise<CasConnection> {
    const configPath = identity.kind === "owner" ? identity.configPath : this.o.operatorConfigPath;
    const key = configPath ?? "";
    let driver = this.drivers.get(key);
    if (!driver) {
      const runner = new LocalCliRunner({
        binary: this.o.binary,
        ...(configPath !== undefined ? { configPath } : {}),
        ...(this.o.env ? { env: this.o.env } : {}),
      });
      driver = new CasDriver(this.o.wrap ? this.o.wrap(runner) : runner);
      this.drivers.set(key, driver);
    }
    return { driver, address: (this.o.address ?? casServiceAddress)(cas), release: async () => {} };
  }
}
