// A CasDriverSource over a local SCONE CLI binary (upstream's `--no-docker`), for the policy controllers and
// `scone cas admit-operator` until the shared sources (src/cas/driver/*-source.ts) land: each identity has its own
// CLI config (SCONE_CLI_CONFIG), the CAS is given by its Service name (`NAME.NAMESPACE.svc:8081`, which resolves
// in a pod) unless the caller maps it elsewhere.
import { CasDriver } from "../../cas/driver/driver.ts";
import {
  type CasConnection,
  type CasDriverSource,
  type CasRef,
  type CliIdentity,
  casServiceAddress,
} from "../../cas/driver/reach.ts";
import { CliRunError, type CliRunner, LocalCliRunner } from "../../cas/driver/runner.ts";

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

/** A source that cannot reach any CAS, saying why (the operator was started without a SCONE CLI). */
export function unavailableSource(reason: string): CasDriverSource {
  return {
    description: "no SCONE CLI",
    connect: async () => {
      throw new CliRunError(reason);
    },
  };
}

/**
 * The operator's source: SCONE_CLI (the CLI binary) and SCONE_OPERATOR_CLI_CONFIG (the operator identity's CLI
 * config); without SCONE_CLI every policy reports Error/CasUnavailable naming these variables.
 */
export function operatorCliSource(env: Readonly<Record<string, string | undefined>>): CasDriverSource {
  const binary = env.SCONE_CLI;
  if (!binary) {
    return unavailableSource(
      "the operator has no SCONE CLI to reach a CAS with: set SCONE_CLI to the CLI binary and SCONE_OPERATOR_CLI_CONFIG to the operator identity's CLI config",
    );
  }
  const operatorConfigPath = env.SCONE_OPERATOR_CLI_CONFIG;
  return new LocalCliSource({ binary: [binary], ...(operatorConfigPath ? { operatorConfigPath } : {}) });
}
