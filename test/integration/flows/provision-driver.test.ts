// `scone cas provision` through the CAS driver on the local cluster: CAS pods backed by the CAS simulator
// (sim/kwok-cas), the operator's CAS controller in this process, and the stand-in SCONE CLI (sim/scone-cli) run
// locally by the production local source (`--scone-cli`), reaching NAME-0's client port through a port-forward —
// upstream's `--no-docker` path. One CAS is
// provisioned fresh; another is provisioned the way upstream's kubectl-provision does it (its ~/.cas layout, the CLI
// creating identity/config.json) and then continued with scone: --verify, a provision re-run that changes nothing,
// and the upgrade's owner-session entry point; the directory stays upstream's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { LocalCasDriverSource } from "../../../src/cas/driver/local-source.ts";
import type { CasDriverSource } from "../../../src/cas/driver/reach.ts";
import type { ProvisionPorts } from "../../../src/flows/provision/context.ts";
import { openOwnerClient, runProvision } from "../../../src/flows/provision/flow.ts";
import { provisionOptionsFromFlags } from "../../../src/flows/provision/options.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { type ClusterConnection, loadKubeConfig } from "../../../src/kube/config.ts";
import { type PortForward, startPortForward } from "../../../src/kube/port-forward.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { clusterAvailable, type LocalCluster } from "../../harness/cluster.ts";
import { CasFlowFixture } from "../../harness/flows.ts";
import { cleanupSteps } from "../../harness/operator.ts";
import { STAND_IN_CLI } from "../../harness/stand-in-world.ts";
import { provisionCasAsUpstream } from "../../harness/upstream-cas.ts";
import { patchedSpec } from "../../harness/upstream-target.ts";

const NS = `scone-provd-${Math.random().toString(36).slice(2, 8)}`;
const FRESH = "cas";
const UPSTREAM = "upcas";
const VERSION = "6.0.6";
const NONCE = "00112233445566778899aabbccddeeff";
const TIMEOUT = 300_000;
const OLD_MRENCLAVE = "ebccfec4dcb2474851cfd944fcac0bb9e9a78020b816f4b41a5b89a6ec373d0b";
const NEW_MRENCLAVE = "e".repeat(64);

/** The production local source (`--scone-cli PATH`, upstream's --no-docker) running the stand-in CLI. */
function localStandInSource(conn: ClusterConnection, forwards: PortForward[], stateDir: string): CasDriverSource {
  return new LocalCasDriverSource({
    binary: STAND_IN_CLI,
    stateDir,
    env: { SCONE_CLI_RETRIES: "3" },
    portForward: async (options) => {
      const forward = await startPortForward(conn, options);
      forwards.push(forward);
      return forward;
    },
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe.skipIf(!clusterAvailable())("scone cas provision through the CAS driver on the KWOK cluster", () => {
  let cluster: LocalCluster;
  let client: KubeClient;
  let conn: ClusterConnection;
  const forwards: PortForward[] = [];
  const root = mkdtempSync(join(tmpdir(), "scone-provision-driver-it-"));
  // What the backup controller records once enabled (fixture): a replaced pod may start on any SGX node.
  const fixture = new CasFlowFixture(root, { [NS]: [FRESH, UPSTREAM] });

  const casRef = (name: string) => ({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name });
  const ports = (): ProvisionPorts => ({
    kube: client,
    casSource: localStandInSource(conn, forwards, join(root, "state")),
    pollMs: 250,
  });
  const options = (name: string, target: string, extra: Record<string, unknown> = {}) =>
    provisionOptionsFromFlags({ name, namespace: NS, target, "set-version": VERSION, nonce: NONCE, ...extra });

  beforeAll(async () => {
    await fixture.start();
    cluster = fixture.cluster;
    client = fixture.client;
    conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
  }, TIMEOUT);

  afterAll(async () => {
    await cleanupSteps(fixture.cleanup(forwards.map((f) => () => f.close())));
  }, 120_000);

  test(
    "fresh: provisioned by the CLI, sessions uploaded, features enabled; --verify and --is-provisioned agree",
    async () => {
      const target = join(root, "fresh-home");
      // --wait: done when the operator reports the CAS HEALTHY again after the post-provisioning patch replaced its pod.
      const out = await runProvision(options(FRESH, target, { wait: true }), ports());
      expect(out.error).toBeUndefined();
      expect(out.output[0]).toMatch(/^PUBLIC CAS_KEY=[1-9A-HJ-NP-Za-km-z]{40,60}$/);
      const done = out.steps.filter((s) => s.outcome === "done").map((s) => s.name);
      expect(done).toEqual(
        expect.arrayContaining(["create-cas", "owner-identity", "provision", "session-provisioned", "wait-healthy"]),
      );
      expect((await client.tryGet<CAS>(casRef(FRESH)))?.spec?.["backup-controller"]?.enabled).toBe(true);
      const verify = await runProvision(options(FRESH, target, { verify: true }), ports());
      expect(verify.error).toBeUndefined();
      expect(verify.output).toEqual([`CAS '${FRESH}' in namespace '${NS}' is attestable and provisioned.`]);
      const is = await runProvision(options(FRESH, target, { "is-provisioned": true }), ports());
      expect(is.exitCode).toBe(0);
      for (const f of filesUnder(target)) {
        expect(`${f} ${(statSync(join(target, f)).mode & 0o777).toString(8)}`).toBe(`${f} 600`);
      }
    },
    TIMEOUT,
  );

  test(
    "an upstream-provisioned CAS continues with scone, and back",
    async () => {
      const target = join(root, "upstream-home");
      // Upstream's steps 4–12: its manifest with the nonce, its CLI over a port-forward, its JSON patch, HEALTHY.
      const { run, casKey, files, before, patch, patched } = await provisionCasAsUpstream({
        kube: client,
        conn,
        name: UPSTREAM,
        namespace: NS,
        target,
        version: VERSION,
        nonce: NONCE,
        forwards,
        timeoutMs: TIMEOUT,
      });
      // The patch's replaces applied where the webhook left the field out, as scone does.
      expect(patchedSpec(before.spec as Record<string, unknown>, patch)).toMatchObject(
        patched.spec as Record<string, unknown>,
      );
      expect(filesUnder(target)).toEqual(files);
      const identityBefore = readFileSync(join(target, "identity", `owner_id_${UPSTREAM}_${NS}.json`), "utf8");

      const verify = await runProvision(options(UPSTREAM, target, { verify: true }), ports());
      expect(verify.error).toBeUndefined();
      expect(verify.output).toEqual([`CAS '${UPSTREAM}' in namespace '${NS}' is attestable and provisioned.`]);

      const again = await runProvision(options(UPSTREAM, target), ports());
      expect(again.error).toBeUndefined();
      for (const s of again.steps) {
        const observed = ["cas-pod", "attest"].includes(s.name);
        expect(`${s.name} ${s.outcome}`).toBe(`${s.name} ${observed ? "done" : "skipped"}`);
      }

      const owner = await openOwnerClient(
        client,
        { name: UPSTREAM, namespace: NS, target },
        {
          casSource: localStandInSource(conn, forwards, join(root, "state")),
        },
      );
      try {
        const policy = await owner.client.readSession("cas-owner/primary-backup");
        expect(policy.session).toContain(OLD_MRENCLAVE);
        await owner.client.updateSession(policy.session.replaceAll(OLD_MRENCLAVE, NEW_MRENCLAVE), policy.hash);
      } finally {
        await owner.close();
      }
      // Back to upstream: its CLI and config read what scone stored.
      const read = await run.cli(join(target, "identity", "config.json"), [
        ...["session", "read", "--cas", run.address, "--cas-key", casKey, "cas-owner/primary-backup"],
      ]);
      expect(read).toContain(NEW_MRENCLAVE);
      expect(filesUnder(target)).toEqual([...files, `journal/provision-${NS}-${UPSTREAM}.json`].sort());
      expect(readFileSync(join(target, "identity", `owner_id_${UPSTREAM}_${NS}.json`), "utf8")).toBe(identityBefore);
    },
    TIMEOUT * 2,
  );
});
