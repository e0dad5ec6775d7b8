// Test-only CasDriverSource: the stand-in SCONE CLI (sim/scone-cli, written from SCONE-CLI.md without scone's code)
// run locally by LocalCliRunner, reaching the simulated CASes (sim/cas processes on loopback ports) of a StandInWorld
// over the network. Each CAS has the address the CLI is given: its simulator's loopback host:port.
import { join } from "node:path";
import { launchSimulator, type RunningSimulator } from "../../sim/cas/launch.ts";
import { parseProvisioningLines } from "../../src/cas/driver/commands.ts";
import { CasDriver } from "../../src/cas/driver/driver.ts";
import type { CasDriverSource, CasRef } from "../../src/cas/driver/reach.ts";
import { type CliRunner, LocalCliRunner } from "../../src/cas/driver/runner.ts";

export const STAND_IN_CLI = [process.execPath, join(import.meta.dir, "../../sim/scone-cli/main.ts")];

export class StandInWorld {
  private readonly addresses = new Map<string, string>();
  private readonly sims: RunningSimulator[] = [];
  constructor(private readonly dir: string) {}

  /** The address the CLI is given for `cas` (created with createCas). */
  address(cas: CasRef): string {
    const address = this.addresses.get(`${cas.namespace}/${cas.name}`);
    if (!address) throw new Error(`no simulated CAS ${cas.namespace}/${cas.name}`);
    return address;
  }

  runner(configPath?: string): LocalCliRunner {
    return new LocalCliRunner({
      binary: STAND_IN_CLI,
      ...(configPath ? { configPath } : {}),
      env: { SCONE_CLI_RETRIES: "1" },
    });
  }

  /** A simulated unprovisioned CAS; its console lines as NAME-0 logs them. */
  async createCas(cas: CasRef): Promise<string> {
    const sim = await launchSimulator({ dataDir: join(this.dir, `${cas.namespace}-${cas.name}`) });
    this.sims.push(sim);
    const text = sim.output.join("\n");
    if (!parseProvisioningLines(text)) throw new Error(`no console lines in ${text}`);
    this.addresses.set(`${cas.namespace}/${cas.name}`, sim.url.replace(/^https:\/\//, ""));
    return text;
  }

  async stop(): Promise<void> {
    await Promise.all(this.sims.map((s) => s.stop()));
  }
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
