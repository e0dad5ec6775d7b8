// casClientProbe against the CAS simulator process (loopback, no cluster): what the CAS controller learns from a
// real REST conversation — unprovisioned, provisioned, a wrong key hash, a CAS that stops answering.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchSimulator, type RunningSimulator } from "../../../../sim/cas/launch.ts";
import { attestCas, CasClient } from "../../../../src/cas/client.ts";
import { type CliConfig, generateCliConfig, identityPem } from "../../../../src/cas/identity.ts";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { casClientProbe } from "../../../../src/operator/cas/client-probe.ts";
import type { CasProbe } from "../../../../src/operator/cas/probe.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { NONCE, upstreamCas } from "./fixtures.ts";

const TIMEOUT = 60_000;
/** Per-request limit of the probes that should succeed: generous, the simulator shares a loaded CI machine. */
const REQUEST_TIMEOUT = 20_000;
const PROVISIONED_SESSION = `name: provisioned
version: "0.3.10"
predecessor:

access_policy:
  read:
    - ANY
  update:
    - CREATOR
  create_sessions:
    - CREATOR
`;

const root = mkdtempSync(join(tmpdir(), "scone-cas-probe-"));
let sim: RunningSimulator;
let owner: CliConfig;
let cas: CAS;
const signal = new AbortController().signal;
/** Not used: the key hash and the address are injected, as a local run or a test does. */
const noKube = {} as KubeClient;
const probeWith = (keyHash: string | undefined): CasProbe =>
  casClientProbe(noKube, {
    resolveAddress: () => ({ url: sim.url }),
    casKeyHash: async () => keyHash,
    timeoutMs: REQUEST_TIMEOUT,
  });

beforeAll(async () => {
  owner = await generateCliConfig("owner");
  sim = await launchSimulator({
    dataDir: join(root, "db"),
    snapshotDir: join(root, "snapshots"),
    snapshotInterval: "300ms",
  });
  cas = await upstreamCas("cas.yaml");
}, TIMEOUT);

afterAll(async () => {
  if (sim && sim.process.exitCode === null) await sim.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("casClientProbe against the CAS simulator", () => {
  test(
    "an unprovisioned CAS: reachable, attestable with spec.nonce, not provisioned",
    async () => {
      const r = await probeWith(sim.casKeyHash).probe(cas, signal);
      expect(r).toMatchObject({ reachable: true, attestable: true, provisioned: "No", version: "6.0.6" });
      const report = JSON.parse(r.dcapReport ?? "{}") as { report?: { nonce?: string } };
      expect(report.report?.nonce).toBe(NONCE);
    },
    TIMEOUT,
  );

  test(
    "once provisioned with the `provisioned` session: Yes, with snapshot progress",
    async () => {
      const { caCertPem } = await attestCas(sim.url, { casKeyHash: sim.casKeyHash });
      const ownerClient = new CasClient({
        url: sim.url,
        caCertPem,
        identity: identityPem(owner),
        timeoutMs: REQUEST_TIMEOUT,
      });
      await ownerClient.provision({
        token: sim.provisioningToken ?? "",
        casKeyHash: sim.casKeyHash,
        ownerConfig: '[audit_log]\nmode = "signed"\nsink = "file"\n',
      });
      const probe = probeWith(sim.casKeyHash);
      // Upstream's rule: provisioned means the `provisioned` session is readable, which `kubectl provision` creates.
      expect((await probe.probe(cas, signal)).provisioned).toBe("No");
      await ownerClient.createSession(PROVISIONED_SESSION);
      // The simulator checks for snapshots every 300 ms on its own timer: wait for the first check-up to show.
      const deadline = Date.now() + 30_000;
      let r = await probe.probe(cas, signal);
      while (!r.snapshotCheckupTimestamp && Date.now() < deadline) {
        await Bun.sleep(100);
        r = await probe.probe(cas, signal);
      }
      expect(r).toMatchObject({ reachable: true, attestable: true, provisioned: "Yes" });
      expect(Date.parse(r.snapshotCheckupTimestamp ?? "")).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  test(
    "the address resolver's release runs after each probe; a resolver that fails reports why",
    async () => {
      let released = 0;
      const probe = casClientProbe(noKube, {
        resolveAddress: async () => ({ url: sim.url, release: async () => void released++ }),
        casKeyHash: async () => sim.casKeyHash,
      });
      expect((await probe.probe(cas, signal)).reachable).toBe(true);
      expect(released).toBe(1);
      const failing = casClientProbe(noKube, {
        resolveAddress: () => {
          throw new Error("port-forward to cas-0 refused");
        },
      });
      expect(await failing.probe(cas, signal)).toEqual({
        reachable: false,
        error: "no address for CAS: port-forward to cas-0 refused",
      });
    },
    TIMEOUT,
  );

  test(
    "a wrong or unknown CAS key hash: reachable but not attestable, with the reason",
    async () => {
      const wrong = await probeWith(sim.softwareKeyHash).probe(cas, signal);
      expect(wrong).toMatchObject({ reachable: true, attestable: false, provisioned: "Unknown" });
      expect(wrong.attestationReason).toContain("CAS key hash");
      const unknown = await probeWith(undefined).probe(cas, signal);
      expect(unknown.attestationReason).toContain('no "CAS key hash" line in the log of cas-0');
    },
    TIMEOUT,
  );

  test(
    "a paused CAS does not answer in time: unreachable with the reason",
    async () => {
      await sim.admin("pause");
      try {
        const r = await casClientProbe(noKube, {
          resolveAddress: () => ({ url: sim.url }),
          casKeyHash: async () => sim.casKeyHash,
          timeoutMs: 500,
        }).probe(cas, signal);
        expect(r.reachable).toBe(false);
        expect(r.error).toContain("no answer within 500 ms");
      } finally {
        await sim.admin("resume");
      }
    },
    TIMEOUT,
  );
});
