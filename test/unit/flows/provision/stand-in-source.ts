// Test-only CasDriverSource: the stand-in SCONE CLI (sim/scone-cli, written from SCONE-CLI.md without scone's code)
// run locally by LocalCliRunner against the pretend CASes of a StandInWorld. Each CAS has the address the CLI is
// given (here its Service name, as from a CLI pod); the world keeps the stand-in's private state.
import { join } from "node:path";
import { parseProvisioningLines } from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import { type CasDriverSource, type CasRef, casServiceAddress } from "../../../../src/cas/driver/reach.ts";
import { type CliRunner, LocalCliRunner } from "../../../../src/cas/driver/runner.ts";

export const STAND_IN_CLI = [process.execPath, join(import.meta.dir, "../../../../sim/scone-cli/main.ts")];

export class StandInWorld {
  private readonly addresses = new Map<string, string>();
  constructor(private readonly dir: string) {}

  /** The address the CLI is given for `cas`. */
  address(cas: CasRef): string {
    return this.addresses.get(`${cas.namespace}/${cas.name}`) ?? casServiceAddress(cas);
  }

  runner(configPath?: string): LocalCliRunner {
    return new LocalCliRunner({
      binary: STAND_IN_CLI,
      ...(configPath ? { configPath } : {}),
      env: { SCONE_CLI_SIM_STATE: this.dir },
    });
  }

  /** A pretend unprovisioned CAS; its console lines as NAME-0 logs them. */
  async createCas(cas: CasRef): Promise<string> {
    const address = casServiceAddress(cas);
    const r = await this.runner().run(["sim-cas", "create", address], {}, []);
    if (r.exitCode !== 0 || !parseProvisioningLines(r.stdout)) throw new Error(`sim-cas create: ${r.stderr}`);
    this.addresses.set(`${cas.namespace}/${cas.name}`, address);
    return r.stdout;
  }

  async stop(): Promise<void> {}
}

/** Connects with the stand-in; `wrap` may replace the runner (recording, fault injection). */
export function standInSource(world: StandInWorld, wrap: (runner: CliRunner) => CliRunner = (r) => r): CasDriverSource {
  return {
    description: "stand-in SCONE CLI (test)",
    async connect(cas, identity) {
      if (identity.kind !== "owner") throw new Error("the test source knows owner identities only");
      return {
        driver: new CasDriver(wrap(world.runner(identity.configPath))),
        address: world.address(cas),
        release: async () => {},
      };
    },
  };
}

/** A runner wrapper that records each call's first two words ("cas provision", "session create"). */
export function recordingCommands(calls: string[]): (runner: CliRunner) => CliRunner {
  return (runner) => ({
    description: runner.description,
    run: (argv, env, files) => {
      calls.push(
        argv
          .filter((a) => typeof a === "string")
          .slice(0, 2)
          .join(" "),
      );
      return runner.run(argv, env, files);
    },
  });
}
