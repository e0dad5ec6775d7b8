// casDriverProbe against the stand-in SCONE CLI (sim/scone-cli, a second implementation written from SCONE-CLI.md)
// run as a local binary, reaching simulated CASes (sim/cas) over loopback: the argv the driver builds must pass a CLI
// that checks them, and its outcomes must read as the documented signals say. No cluster.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchSimulator, type RunningSimulator } from "../../../../sim/cas/launch.ts";
import { parseProvisioningLines } from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import type { CasDriverSource } from "../../../../src/cas/driver/reach.ts";
import { LocalCliRunner } from "../../../../src/cas/driver/runner.ts";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { casDriverProbe } from "../../../../src/operator/cas/driver-probe.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { STAND_IN_CLI } from "../../../harness/cas-driver.ts";
import { upstreamCas } from "../../../harness/cas-fixtures.ts";

const TIMEOUT = 60_000;
const root = mkdtempSync(join(tmpdir(), "scone-probe-standin-"));
const signal = new AbortController().signal;
const noKube = {} as KubeClient;
const PROVISIONED = 'name: provisioned\nversion: "0.3.10"\naccess_policy:\n  read:\n    - ANY\n';
const OWNER_TOML = '[audit_log]\nmode = "signed"\nsink = "file"\n';

const sims = new Map<string, RunningSimulator>();
afterAll(async () => {
  await Promise.all([...sims.values()].map((s) => s.stop()));
  rmSync(root, { recursive: true, force: true });
});

const runner = (identity: string) =>
  new LocalCliRunner({
    binary: STAND_IN_CLI,
    configPath: join(root, identity, "config.json"),
    env: { SCONE_CLI_RETRIES: "1" },
  });

/** Each CAS resource name → its simulated CAS on a loopback port (what a port-forward would give). */
const address = (name: string) => sims.get(name)?.url.replace("https://", "") ?? "127.0.0.1:1";
const source: CasDriverSource = {
  description: "stand-in CLI",
  connect: async (cas, identity) => ({
    driver: new CasDriver(runner(identity.kind)),
    address: address(cas.name),
    release: async () => {},
  }),
};
const probe = casDriverProbe(noKube, {
  source,
  consoleLog: async (cas) => sims.get(cas.metadata.name ?? "")?.output.join("\n") ?? "",
  exec: async () => ({ exitCode: 1, stdout: new Uint8Array(), stderr: "no pod here" }),
});

async function casNamed(name: string, ...simOptions: string[]): Promise<CAS> {
  sims.set(name, await launchSimulator({ dataDir: join(root, `cas-${name}`), extraArgs: simOptions }));
  const cas = await upstreamCas("cas.yaml");
  return { ...cas, metadata: { ...cas.metadata, name } };
}

describe("casDriverProbe through the stand-in SCONE CLI", () => {
  test(
    "unprovisioned: not attestable, provisioned No (its console offers a token); after provisioning: attestable, and Yes once the `provisioned` session exists",
    async () => {
      const cas = await casNamed("cas");
      expect(await probe.probe(cas, signal)).toMatchObject({ reachable: true, attestable: false, provisioned: "No" });

      // The owner provisions it and uploads `provisioned`, as `kubectl provision` does (SCONE-INTERFACE §10.2).
      const lines = parseProvisioningLines(sims.get("cas")?.output.join("\n") ?? "");
      if (!lines) throw new Error("no console lines");
      const owner = new CasDriver(runner("owner"));
      const keys = await owner.provision({ address: address("cas"), ...lines, ownerConfigToml: OWNER_TOML });
      expect(await probe.probe(cas, signal)).toMatchObject({ attestable: true, provisioned: "No" });
      await owner.createSession({ address: address("cas"), casKey: keys.casKey }, PROVISIONED);
      expect(await probe.probe(cas, signal)).toEqual({ reachable: true, attestable: true, provisioned: "Yes" });
    },
    TIMEOUT,
  );

  test(
    "a CAS signed by neither tolerated signer: not attestable, with the CLI's words",
    async () => {
      const r = await probe.probe(await casNamed("other", "--mrsigner", "ab".repeat(32)), signal);
      expect(r).toMatchObject({ reachable: true, attestable: false, provisioned: "No" });
      expect(r.attestationReason).toStartWith("Scone CLI command failed with exit code");
      expect(r.attestationReason).toContain("7520-30768-31405");
    },
    TIMEOUT,
  );

  test(
    "a CAS whose TCB needs a tolerance upstream's sets include (group out of date): attestable",
    async () => {
      const cas = await casNamed("old", "--tcb", "group-out-of-date");
      const lines = parseProvisioningLines(sims.get("old")?.output.join("\n") ?? "");
      if (!lines) throw new Error("no console lines");
      await new CasDriver(runner("owner")).provision({
        address: address("old"),
        ...lines,
        ownerConfigToml: OWNER_TOML,
      });
      expect(await probe.probe(cas, signal)).toMatchObject({ attestable: true, provisioned: "No" });
    },
    TIMEOUT,
  );

  test(
    "a CAS that stopped: the CLI's failure, not an attestation verdict scone made up",
    async () => {
      const cas = await casNamed("gone");
      await sims.get("gone")?.stop();
      const r = await probe.probe(cas, signal);
      expect(r.attestable).not.toBe(true);
      expect(r.attestationReason ?? r.error).toContain("Scone CLI command failed");
    },
    TIMEOUT,
  );
});
