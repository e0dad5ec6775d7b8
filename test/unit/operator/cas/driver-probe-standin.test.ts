// casDriverProbe against the stand-in SCONE CLI (sim/scone-cli, a second implementation written from SCONE-CLI.md),
// run as a local binary: the argv the driver builds must pass a CLI that checks them, and its outcomes must read as
// the documented signals say. The stand-in's pretend CASes live in its private state directory; no cluster.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import { type CasDriverSource, casServiceAddress } from "../../../../src/cas/driver/reach.ts";
import { LocalCliRunner } from "../../../../src/cas/driver/runner.ts";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { consoleField } from "../../../../src/operator/cas/console.ts";
import { casDriverProbe } from "../../../../src/operator/cas/driver-probe.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { STAND_IN_CLI } from "../../../harness/cas-driver.ts";
import { upstreamCas } from "./fixtures.ts";

const TIMEOUT = 60_000;
const root = mkdtempSync(join(tmpdir(), "scone-probe-standin-"));
const env = { SCONE_CLI_SIM_STATE: join(root, "world") };
const signal = new AbortController().signal;
const noKube = {} as KubeClient;
const PROVISIONED = 'name: provisioned\nversion: "0.3.10"\naccess_policy:\n  read:\n    - ANY\n';

const runner = (config: string) =>
  new LocalCliRunner({ binary: STAND_IN_CLI, configPath: join(root, config, "config.json"), env, tempRoot: root });

/** Asks the stand-in for a pretend CAS at the address the probe will use; its console lines are the answer. */
async function pretendCas(address: string, flags: string[] = []): Promise<string> {
  const r = await runner("admin").run(["sim-cas", "create", address, ...flags], {}, []);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.stdout;
}

const source: CasDriverSource = {
  description: "stand-in CLI",
  connect: async (cas, identity) => ({
    driver: new CasDriver(runner(identity.kind === "owner" ? "owner" : "operator")),
    address: casServiceAddress(cas),
    release: async () => {},
  }),
};

const named = (cas: CAS, name: string): CAS => ({ ...cas, metadata: { ...cas.metadata, name } });
const consoles = new Map<string, string>();
const probe = casDriverProbe(noKube, {
  source,
  consoleLog: async (cas) => consoles.get(cas.metadata.name ?? "") ?? "",
  exec: async () => ({ exitCode: 1, stdout: new Uint8Array(), stderr: "no pod here" }),
});

let cas: CAS;
beforeAll(async () => {
  cas = await upstreamCas("cas.yaml");
}, TIMEOUT);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("casDriverProbe through the stand-in SCONE CLI", () => {
  test(
    "unprovisioned: attestable, provisioned No; after provisioning and the `provisioned` session: Yes",
    async () => {
      const address = casServiceAddress({ namespace: "scone", name: "cas" });
      consoles.set("cas", await pretendCas(address));
      expect(await probe.probe(cas, signal)).toEqual({ reachable: true, attestable: true, provisioned: "No" });

      // The owner provisions it and uploads `provisioned`, as `kubectl provision` does (SCONE-INTERFACE §10.2).
      const owner = await source.connect({ namespace: "scone", name: "cas" }, { kind: "owner", configPath: "" });
      const line = (label: string) => consoleField(consoles.get("cas") ?? "", label) ?? "";
      const keys = await owner.driver.provision({
        address,
        casKeyHash: line("CAS key hash"),
        token: line("CAS provisioning token"),
        ownerConfigToml: '[audit_log]\nmode = "signed"\nsink = "file"\n',
      });
      expect(await probe.probe(cas, signal)).toMatchObject({ attestable: true, provisioned: "No" });
      await owner.driver.createSession({ address, casKey: keys.casKey }, PROVISIONED);
      expect(await probe.probe(cas, signal)).toEqual({ reachable: true, attestable: true, provisioned: "Yes" });
    },
    TIMEOUT,
  );

  test(
    "a CAS signed by neither tolerated signer: not attestable, with the stand-in's words",
    async () => {
      const other = named(cas, "other");
      consoles.set(
        "other",
        await pretendCas(casServiceAddress({ namespace: "scone", name: "other" }), ["--mrsigner", "ab".repeat(32)]),
      );
      const r = await probe.probe(other, signal);
      expect(r).toMatchObject({ reachable: true, attestable: false, provisioned: "Unknown" });
      expect(r.attestationReason).toContain("MRSIGNER mismatch");
    },
    TIMEOUT,
  );

  test(
    "a CAS whose TCB needs a tolerance upstream's sets include (group out of date): attestable",
    async () => {
      const old = named(cas, "old");
      consoles.set(
        "old",
        await pretendCas(casServiceAddress({ namespace: "scone", name: "old" }), ["--tcb", "group-out-of-date"]),
      );
      expect(await probe.probe(old, signal)).toMatchObject({ attestable: true, provisioned: "No" });
    },
    TIMEOUT,
  );
});
