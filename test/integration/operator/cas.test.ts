// The CAS controller on the real local cluster (kube-apiserver, controller-manager, scheduler, KWOK nodes) with a
// FAKE CasProbe (the CAS simulator is wired in later): the upstream provisioning manifest reaches Unprovisioned;
// provisioned + attestable + backup registrations make it HEALTHY as `kubectl get cas` shows; a steady state writes
// nothing; a CAS that stops answering turns UNHEALTHY with the reason and back; a lost node moves CAS to an eligible
// node of the same zone, or says why none qualifies.
//
// The suite changes shared nodes (LAS labels, registration labels, deletes one node): it restores them after.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type {
  CoreV1Event,
  V1Deployment,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StatefulSet,
} from "@kubernetes/client-node";
import { nodeManifest, SIMULATED_NODES } from "../../../hack/cluster/nodes.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { registerCasController } from "../../../src/operator/cas/controller.ts";
import { registrationLabel } from "../../../src/operator/cas/nodes.ts";
import type { CasProbe, CasProbeResult } from "../../../src/operator/cas/probe.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import type { Controller } from "../../../src/runtime/controller.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor } from "../../harness/kube.ts";
import {
  buildOperatorContext,
  installCrds,
  type TestOperator,
  waitForMetrics,
  zoneAVolume,
} from "../../harness/operator.ts";
import { sharedPath } from "../../harness/shared.ts";

const NS = `scone-cas-${Math.random().toString(36).slice(2, 8)}`;
const NAME = "cas";
const NONCE = "00112233445566778899aabbccddeeff";
const IMAGE = "registry.scontain.com/scone.cloud/cas:6.0.6";
const SAMPLE = sharedPath("reference", "upstream-samples", "manifests-6.0.6", "cas_provisioning.yaml");
const SGX_NODES = ["sgx-node-1", "sgx-node-2", "sgx-node-3"];
const LAS_LABELS = { "las.scontain.com/capable": "true", "las.scontain.com/ok": "true" };
const CAS_REF = { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name: NAME };
/** The backup controller's registration labels for the running and the upgrade version (nodes.ts). */
const REG = registrationLabel(NS, NAME, "6.0.6") ?? "";
const REG_NEW = registrationLabel(NS, NAME, "6.1.0") ?? "";
const TEST_MANAGER = "scone-cas-test";

/**
 * The fake CAS: what it answers is switched by the test; `undefined` = it hangs (no answer). Like the production
 * probe it names no version: status.version is the tag of the image the pod runs.
 */
class FakeCas implements CasProbe {
  answer: CasProbeResult | undefined = { reachable: true, provisioned: "No", attestable: true };
  async probe(): Promise<CasProbeResult> {
    if (!this.answer) throw new Error("connect ECONNREFUSED 10.0.0.10:8081 (test)");
    return this.answer;
  }
}

describe.skipIf(!clusterAvailable())("CAS controller on a real API server", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  let controller: Controller;
  const fake = new FakeCas();
  const snapshotAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");

  const getCas = () => client.get<CAS>(CAS_REF);
  const waitCas = (what: string, ok: (c: CAS) => boolean, timeoutMs = 90_000) =>
    waitFor(
      what,
      async () => {
        const c = await getCas();
        return ok(c) ? c : undefined;
      },
      timeoutMs,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}; status: ${JSON.stringify((await getCas()).status)}`);
    });
  const condition = (c: CAS, type: string) => c.status?.conditions?.find((x) => x.type === type);
  const mergeNode = (name: string, patch: unknown) =>
    client.patch({ apiVersion: "v1", kind: "Node", name }, patch, "merge", { fieldManager: TEST_MANAGER });
  const events = async (): Promise<CoreV1Event[]> =>
    (await client.list<CoreV1Event>({ apiVersion: "v1", kind: "Event" }, { namespace: NS })).items.filter(
      (e) => e.involvedObject.name === NAME && e.involvedObject.kind === "CAS",
    );
  /** Events are posted without holding up the reconcile, so a test awaits them like status. */
  const waitForEvent = (reason: string) =>
    waitFor(`a ${reason} Event`, async () => (await events()).find((e) => e.reason === reason));
  const pod = () => client.tryGet<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace: NS, name: `${NAME}-0` });

  beforeAll(async () => {
    cluster = await sharedCluster();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath });
    client = op.client;
    await installCrds(client);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    // What LAS would do on healthy SGX nodes (no LAS runs in this suite).
    for (const n of SGX_NODES) await mergeNode(n, { metadata: { labels: LAS_LABELS } });
    // No storage provisioner here: one zone-a volume per claim, pre-bound, like a zonal disk.
    for (const claim of [`database-${NAME}-0`, `database-snapshots-${NAME}-0`])
      await client.create(zoneAVolume(NS, claim));
    controller = registerCasController(op.ctx, fake, {
      podDeletionBackoffMs: 2_000,
      healthyRecheckMs: 1_000,
      unhealthyRecheckMs: 500,
    });
    await op.start();
  }, 300_000);

  afterAll(async () => {
    await op?.stop();
    if (!client) return;
    // The deleted node comes back as the harness made it; labels and registrations go.
    for (const spec of SIMULATED_NODES) {
      const exists = await client.tryGet({ apiVersion: "v1", kind: "Node", name: spec.name });
      if (!exists) await client.create(nodeManifest(spec)).catch(() => undefined);
    }
    for (const n of SGX_NODES)
      await mergeNode(n, {
        metadata: {
          labels: { "las.scontain.com/capable": null, "las.scontain.com/ok": null, [REG]: null, [REG_NEW]: null },
        },
      }).catch(() => undefined);
    // The CAS finalizer has no operator any more: drop it, then the namespace and the volumes.
    await client
      .patch(CAS_REF, { metadata: { finalizers: null } }, "merge", { fieldManager: TEST_MANAGER })
      .catch(() => undefined);
    await client.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }).catch(() => false);
    for (const claim of [`database-${NAME}-0`, `database-snapshots-${NAME}-0`])
      await client
        .deleteIfExists({ apiVersion: "v1", kind: "PersistentVolume", name: `${NS}-${claim}` })
        .catch(() => false);
  }, 120_000);

  test("the upstream provisioning manifest reaches phase Unprovisioned", async () => {
    const manifest = (await Bun.file(SAMPLE).text())
      .replaceAll("$NAMESPACE", NS) // before $NAME, which is its prefix
      .replaceAll("$NAME", NAME)
      .replaceAll("$IMAGE", IMAGE);
    const applied = await cluster.kubectl(["apply", "-f", "-"], {
      stdin: `${manifest.trimEnd()}\n  nonce: ${NONCE}\n`,
    });
    expect(applied.stderr).toBe("");
    const cas = await waitCas("phase Unprovisioned", (c) => c.status?.phase === "Unprovisioned");
    expect(cas.status).toMatchObject({
      state: "PENDING",
      provisioned: "No",
      attestable: "Yes",
      migrationNodeRatio: "Disabled",
    });
    expect(cas.metadata.finalizers).toContain("services.scone.cloud/finalizer");
    const running = await pod();
    expect(["sgx-node-1", "sgx-node-2"]).toContain(running?.spec?.nodeName ?? "");
    const pvc = await client.get<V1PersistentVolumeClaim>({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      namespace: NS,
      name: `database-${NAME}-0`,
    });
    expect(pvc.status?.phase).toBe("Bound");
    const svc = await client.get<KubeObject & { spec: { type: string } }>({
      apiVersion: "v1",
      kind: "Service",
      namespace: NS,
      name: NAME,
    });
    expect(svc.spec.type).toBe("NodePort");
  }, 120_000);

  test("provisioned, attestable, registered on every SGX node: HEALTHY, as `kubectl get cas` shows", async () => {
    fake.answer = {
      reachable: true,
      provisioned: "Yes",
      attestable: true,
      dcapReport: "fake-dcap-report",
      snapshotTimestamp: snapshotAt,
      snapshotCheckupTimestamp: snapshotAt,
    };
    // What `kubectl provision` patches after provisioning (cas_patch_probes_and_backup.json, trimmed).
    const patch = [
      { op: "replace", path: "/spec/backup-controller/enabled", value: true },
      { op: "add", path: "/spec/backup-controller/session", value: "cas-owner/primary-backup/register" },
    ];
    await client.patch(CAS_REF, patch, "json", { fieldManager: TEST_MANAGER });
    await waitCas("phase EnablingMigration", (c) => c.status?.phase === "EnablingMigration");
    for (const n of SGX_NODES) await mergeNode(n, { metadata: { labels: { [REG]: "true" } } });
    // The safety service may still be starting its third replica (Alert does not keep CAS from HEALTHY).
    const cas = await waitCas(
      "HEALTHY with the safety service complete",
      (c) => c.status?.state === "HEALTHY" && c.status.safetyServiceStatus === "Healthy",
    );
    expect(cas.status).toMatchObject({
      phase: "HEALTHY",
      provisioned: "Yes",
      attestable: "Yes",
      snapshotStatus: "Persisted",
      migrationNodeRatio: "3/3",
      nonce: NONCE,
      dcapReport: "fake-dcap-report",
      safetyServiceStatus: "Healthy",
    });
    const table = await cluster.kubectl(["get", "cas", NAME, "-n", NS]);
    expect(table.stdout).toMatch(/HEALTHY\s+HEALTHY\s+Yes\s+Yes\s+Persisted\s+3\/3\s+6\.0\.6/);
    await waitForEvent("Provisioned");
  }, 180_000);

  test("a steady state writes nothing", async () => {
    const key = `${NS}/${NAME}`;
    await controller.processKey(key); // settle: the cache has seen our own last writes
    await Bun.sleep(500);
    const before = op.writes.length;
    for (let i = 0; i < 3; i++) {
      const record = await controller.processKey(key);
      expect(record.actions).toEqual([]);
    }
    expect(op.writes.slice(before)).toEqual([]);
  }, 60_000);

  test("a CAS that stops answering is UNHEALTHY with the reason in a condition and an Event, then HEALTHY again", async () => {
    const saved = fake.answer;
    fake.answer = undefined;
    const down = await waitCas("UNHEALTHY", (c) => c.status?.state === "UNHEALTHY");
    expect(condition(down, "CASReachable")).toMatchObject({ status: "False", reason: "NotAnswering" });
    expect(condition(down, "CASReachable")?.message).toContain("ECONNREFUSED");
    expect(condition(down, "Ready")?.reason).toBe("CASUnreachable");
    const warned = await waitFor("an Unhealthy Event", async () => {
      const e = (await events()).find((x) => x.reason === "Unhealthy");
      return e?.message?.includes("ECONNREFUSED") ? e : undefined;
    });
    expect(warned.type).toBe("Warning");
    fake.answer = saved;
    const up = await waitCas("HEALTHY again", (c) => c.status?.state === "HEALTHY");
    expect(condition(up, "CASReachable")?.status).toBe("True");
  }, 120_000);

  test("a new image waits for n/n migration (UpgradeBlocked, the running image kept), then rolls out", async () => {
    const NEW = "registry.scontain.com/scone.cloud/cas:6.1.0";
    const casImage = async () =>
      (
        await client.get<V1StatefulSet>({ apiVersion: "apps/v1", kind: "StatefulSet", namespace: NS, name: NAME })
      ).spec?.template.spec?.containers.find((c) => c.name === "cas")?.image;
    await mergeNode("sgx-node-3", { metadata: { labels: { [REG]: null } } });
    await waitCas("migration 2/3", (c) => c.status?.migrationNodeRatio === "2/3");
    await client.patch(CAS_REF, { spec: { image: NEW } }, "merge", { fieldManager: TEST_MANAGER });
    // First the backup controller rolls out (WaitingForBackupController), then the missing node holds CAS back.
    const blocked = await waitCas(
      "UpgradeBlocked: MigrationIncomplete",
      (c) => condition(c, "UpgradeBlocked")?.reason === "MigrationIncomplete",
    );
    expect(condition(blocked, "UpgradeBlocked")?.status).toBe("True");
    expect(condition(blocked, "UpgradeBlocked")?.message).toContain("migration is 2/3");
    expect(await casImage()).toBe(IMAGE);
    await waitForEvent("UpgradeBlocked");
    // The backup controller goes first: it rolls out with BACKUP_CAS_IMAGE = the new image ...
    await waitFor("the backup controller rolled out for the new image", async () => {
      const d = await client.get<V1Deployment>({
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace: NS,
        name: `${NAME}-backup-controller`,
      });
      const env = d.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === "BACKUP_CAS_IMAGE")?.value;
      const done = d.status?.conditions?.some((c) => c.type === "Progressing" && c.reason === "NewReplicaSetAvailable");
      const current = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
      return env === NEW && done && current && d.status?.updatedReplicas === 1 ? true : undefined;
    });
    // ... and registers the new version; registrations of the running version alone do not count.
    await mergeNode("sgx-node-3", { metadata: { labels: { [REG]: "true", [REG_NEW]: "true" } } });
    const waiting = await waitCas(
      "WaitingForRegistrations",
      (c) => condition(c, "UpgradeBlocked")?.reason === "WaitingForRegistrations",
    );
    expect(condition(waiting, "UpgradeBlocked")?.message).toContain("1 of 3 registered for that version");
    expect(await casImage()).toBe(IMAGE);
    for (const n of ["sgx-node-1", "sgx-node-2"]) await mergeNode(n, { metadata: { labels: { [REG_NEW]: "true" } } });
    await waitFor("the new CAS image in the StatefulSet", async () => ((await casImage()) === NEW ? true : undefined));
    await waitFor(
      "pod on the new image",
      async () => {
        const p = await pod();
        const ready = p?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        return ready && p?.spec?.containers.find((c) => c.name === "cas")?.image === NEW ? true : undefined;
      },
      120_000,
    );
    // CAS stayed HEALTHY while held back, so the first HEALTHY read may predate the restart: wait for the status
    // (and the gauges) that follow the pod on the new image.
    const done = await waitCas(
      "HEALTHY after the upgrade, no longer blocked",
      (c) => c.status?.state === "HEALTHY" && condition(c, "UpgradeBlocked")?.status === "False",
    );
    expect(["Upgrading", "NoUpgradePending"]).toContain(condition(done, "UpgradeBlocked")?.reason ?? "");
    await waitForMetrics(op, [
      `scone_cas_state{cr_name="${NAME}",cr_namespace="${NS}"} 1`,
      `scone_cas_phase{cr_name="${NAME}",cr_namespace="${NS}"} 0.875`,
    ]);
  }, 240_000);

  test("a change the API server cannot make (database size) is refused in a condition; status stays current", async () => {
    await client.patch(CAS_REF, { spec: { persistence: { size: "5Gi" } } }, "merge", { fieldManager: TEST_MANAGER });
    // Still reconciled: the status keeps following the CAS (HEALTHY) instead of every apply failing.
    const refused = await waitCas(
      "SpecApplied False while HEALTHY",
      (c) => condition(c, "SpecApplied")?.status === "False" && c.status?.state === "HEALTHY",
    );
    expect(condition(refused, "SpecApplied")?.message).toContain("instead of database 5Gi");
    expect(refused.status?.observedGeneration).toBe(refused.metadata.generation);
    await client.patch(CAS_REF, { spec: { persistence: { size: null } } }, "merge", { fieldManager: TEST_MANAGER });
    await waitCas("SpecApplied True", (c) => condition(c, "SpecApplied")?.status === "True");
  }, 60_000);

  test("the optional NetworkPolicy is accepted by the API server, kept without writes, and removed when disabled", async () => {
    const ref = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", namespace: NS, name: NAME };
    const networkPolicy = { enabled: true, ingressNSMatchLabels: { team: "a" }, ingressPodMatchLabels: { app: "x" } };
    await client.patch(CAS_REF, { spec: { networkPolicy } }, "merge", { fieldManager: TEST_MANAGER });
    const np = await waitFor("NetworkPolicy", () =>
      client.tryGet<KubeObject & { spec: { ingress: { from: unknown[] }[] } }>(ref),
    );
    expect(np.spec.ingress[0]?.from).toHaveLength(2);
    const key = `${NS}/${NAME}`;
    await waitFor("settled", async () => ((await controller.processKey(key)).actions.length === 0 ? true : undefined));
    const before = op.writes.length;
    expect((await controller.processKey(key)).actions).toEqual([]);
    expect(op.writes.slice(before)).toEqual([]);
    await client.patch(CAS_REF, { spec: { networkPolicy: { enabled: false } } }, "merge", {
      fieldManager: TEST_MANAGER,
    });
    await waitFor("NetworkPolicy removed", async () => ((await client.tryGet(ref)) ? undefined : true));
  }, 60_000);

  test("a lost node: no eligible node → a clear reason; once one is registered, CAS moves there (same zone)", async () => {
    const from = (await pod())?.spec?.nodeName ?? "";
    const other = from === "sgx-node-1" ? "sgx-node-2" : "sgx-node-1";
    // The only other node of the zone has no backup for the version CAS runs since the upgrade: nowhere to go.
    await mergeNode(other, { metadata: { labels: { [REG_NEW]: null } } });
    await client.delete({ apiVersion: "v1", kind: "Node", name: from });
    const stuck = await waitCas("NoEligibleNode", (c) => condition(c, "NodeHealthy")?.reason === "NoEligibleNode");
    const message = condition(stuck, "NodeHealthy")?.message ?? "";
    expect(message).toContain(`${other}: no backup CAS registered`);
    expect(message).toContain("sgx-node-3: in zone zone-b, the database volume is in zone-a");
    expect(message).toContain("plain-node-1:");
    expect(stuck.status?.state).toBe("UNHEALTHY");
    // A registration appears on the other zone-a node: CAS goes there.
    await mergeNode(other, { metadata: { labels: { [REG_NEW]: "true" } } });
    const moved = await waitFor(
      `pod ${NAME}-0 running on ${other}`,
      async () => {
        const p = await pod();
        return p?.spec?.nodeName === other && p.status?.phase === "Running" ? p : undefined;
      },
      120_000,
    );
    expect(moved.spec?.nodeName).toBe(other);
    const sts = await client.get<V1StatefulSet>({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      namespace: NS,
      name: NAME,
    });
    const pinned =
      sts.spec?.template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
        ?.nodeSelectorTerms[0]?.matchFields?.[0]?.values;
    expect(pinned).toEqual([other]);
    const healthy = await waitCas("HEALTHY on the new node", (c) => c.status?.state === "HEALTHY");
    expect(condition(healthy, "NodeHealthy")?.message).toBe(`CAS runs on node ${other}`);
    expect(healthy.status?.migrationNodeRatio).toBe("2/2");
    await waitForEvent("NoEligibleNode");
    // The deleted node returns for the suites after this one.
    const spec = SIMULATED_NODES.find((s) => s.name === from);
    if (spec) await client.create(nodeManifest(spec) as V1Node);
    await mergeNode(from, { metadata: { labels: LAS_LABELS } });
  }, 240_000);

  test("deleting the CAS keeps its database PVCs and says so", async () => {
    await client.delete(CAS_REF);
    await waitFor("CAS gone", async () => ((await client.tryGet(CAS_REF)) ? undefined : true));
    const pvc = await client.tryGet({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      namespace: NS,
      name: `database-${NAME}-0`,
    });
    expect(pvc).toBeDefined();
    // Events are posted without holding up the reconcile: await them like status.
    const kept = await waitFor("a DatabaseKept Event", async () =>
      (await client.list<CoreV1Event>({ apiVersion: "v1", kind: "Event" }, { namespace: NS })).items.find(
        (e) => e.reason === "DatabaseKept",
      ),
    );
    expect(kept.message).toContain(`database-${NAME}-0`);
    expect(op.ctx.manager.metrics.render()).not.toContain(`cr_namespace="${NS}"`);
  }, 60_000);
});
