// A simulated CAS (sim/cas, on loopback) provisioned by the owner identity through the CAS driver and the stand-in
// SCONE CLI (sim/scone-cli, which reaches it over the network) — the setup the policy tests and bench/policies.ts
// share. The CAS is named by a CasRef; the stand-in source maps it to the simulator's `127.0.0.1:PORT`.
import { join } from "node:path";
import { launchSimulator, type RunningSimulator } from "../../sim/cas/launch.ts";
import type { CasDriverSource, CasRef } from "../../src/cas/driver/reach.ts";

export interface StandInCas {
  readonly sim: RunningSimulator;
  /** `host:port` as the CLI is given it. */
  readonly address: string;
}

export async function provisionStandInCas(options: {
  readonly dataDir: string;
  readonly source: CasDriverSource;
  readonly cas: CasRef;
  readonly ownerConfigPath: string;
  /** Called with the address before the owner connects (the source maps the CAS to it). */
  readonly register: (cas: CasRef, address: string) => void;
}): Promise<StandInCas> {
  const sim = await launchSimulator({
    dataDir: join(options.dataDir, "db"),
    auditLog: join(options.dataDir, "audit.log"),
  });
  const address = new URL(sim.url).host;
  options.register(options.cas, address);
  const owner = await options.source.connect(options.cas, { kind: "owner", configPath: options.ownerConfigPath });
  await owner.driver.provision({
    address: owner.address,
    casKeyHash: sim.casKeyHash,
    token: sim.provisioningToken ?? "",
    ownerConfigToml: "",
  });
  return { sim, address };
}
