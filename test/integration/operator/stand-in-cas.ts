// A pretend CAS of the stand-in SCONE CLI (sim/scone-cli, `sim-cas create`) at a CAS's Service address, provisioned
// by the owner identity through the CAS driver — the setup the policy tests and bench/policies.ts share.
import { spawnSync } from "node:child_process";
import { parseProvisioningLines } from "../../../src/cas/driver/commands.ts";
import { type CasDriverSource, type CasRef, casServiceAddress } from "../../../src/cas/driver/reach.ts";

export async function provisionStandInCas(options: {
  readonly cli: readonly string[];
  /** SCONE_CLI_SIM_STATE: where the stand-in keeps its pretend CASes. */
  readonly worldDir: string;
  readonly source: CasDriverSource;
  readonly cas: CasRef;
  readonly ownerConfigPath: string;
}): Promise<void> {
  const { cli, cas } = options;
  const created = spawnSync(cli[0] as string, [...cli.slice(1), "sim-cas", "create", casServiceAddress(cas)], {
    env: { ...process.env, SCONE_CLI_SIM_STATE: options.worldDir },
  });
  const lines = parseProvisioningLines(String(created.stdout));
  if (!lines) throw new Error(`sim-cas create printed no console lines: ${String(created.stderr)}`);
  const owner = await options.source.connect(cas, { kind: "owner", configPath: options.ownerConfigPath });
  await owner.driver.provision({
    address: owner.address,
    casKeyHash: lines.casKeyHash,
    token: lines.token,
    ownerConfigToml: "",
  });
}
