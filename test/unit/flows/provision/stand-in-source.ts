// Test-only CasDriverSource: the stand-in SCONE CLI (sim/scone-cli, written from SCONE-CLI.md without scone's code)
// run locally by LocalCliRunner, its pretend CASes in a world directory of the test. The address is the CAS's Service
// name, as a CLI pod would use it. Replaced by the production sources' tests once they exist.
import { join } from "node:path";
import { parseProvisioningLines } from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import { type CasDriverSource, type CasRef, casServiceAddress } from "../../../../src/cas/driver/reach.ts";
import { type CliRunner, LocalCliRunner } from "../../../../src/cas/driver/runner.ts";

export const STAND_IN_CLI = [process.execPath, join(import.meta.dir, "../../../../sim/scone-cli/main.ts")];

export function standInRunner(world: string, configPath?: string): LocalCliRunner {
  return new LocalCliRunner({
    binary: STAND_IN_CLI,
    ...(configPath ? { configPath } : {}),
    env: { SCONE_CLI_SIM_STATE: world },
  });
}

/** Connects with the stand-in; `connects` counts connections, `wrap` may replace the runner (fault injection). */
export function standInSource(
  world: string,
  wrap: (runner: CliRunner) => CliRunner = (r) => r,
): CasDriverSource & { connects: number; released: number } {
  const source = {
    description: "stand-in SCONE CLI (test)",
    connects: 0,
    released: 0,
    async connect(cas: CasRef, identity: Parameters<CasDriverSource["connect"]>[1]) {
      if (identity.kind !== "owner") throw new Error("the test source knows owner identities only");
      source.connects++;
      return {
        driver: new CasDriver(wrap(standInRunner(world, identity.configPath))),
        address: casServiceAddress(cas),
        release: async () => {
          source.released++;
        },
      };
    },
  };
  return source;
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

/** A pretend unprovisioned CAS at the Service address of `cas`; returns its console lines (as NAME-0 logs them). */
export async function standInCas(world: string, cas: CasRef): Promise<string> {
  const r = await standInRunner(world).run(["sim-cas", "create", casServiceAddress(cas)], {}, []);
  if (r.exitCode !== 0 || !parseProvisioningLines(r.stdout)) throw new Error(`sim-cas create: ${r.stderr}`);
  return r.stdout;
}
