// The Scone stack controller on the real local cluster (API server, controller-manager, KWOK nodes), with the LAS,
// SGXPlugin and CAS controllers running too (the CAS one with a fake CasProbe: an unprovisioned CAS):
// Empty → Creating → Running with LAS/SGXPlugin HEALTHY and the CAS created; a spec change → Updating → Running;
// a node selector the API server refuses on the operator Deployment → Error, retried, waiting after 5 attempts;
// a fix → Repairing → Running; Unmanaged leaves hand-made changes alone (Managed reverts them); skipCas removes the
// CAS but not its PVCs; deleting the stack removes LAS, SGXPlugin and CAS and keeps the PVCs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CoreV1Event, V1Deployment, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { registerCasController } from "../../../src/operator/cas/controller.ts";
import type { CasProbe, CasProbeResult } from "../../../src/operator/cas/probe.ts";
import { registerLasController } from "../../../src/operator/las/controller.ts";
import type { StackBackupPort, StackBackupRequest } from "../../../src/operator/scone/backup-runner.ts";
import { LAST_BACKUP_ANNOTATION } from "../../../src/operator/scone/backup-schedule.ts";
import { registerSconeController, SCONE_FINALIZER } from "../../../src/operator/scone/controller.ts";
import {
  SCONE_TYPE,
  STACK_CAS_TYPE,
  STACK_LAS_TYPE,
  STACK_SGXPLUGIN_TYPE,
} from "../../../src/operator/scone/render.ts";
import { registerSgxPluginController } from "../../../src/operator/sgxplugin/controller.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import type { LAS } from "../../../src/resources/las.ts";
import type { Scone } from "../../../src/resources/scone.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor } from "../../harness/kube.ts";
import {
  buildOperatorContext,
  cleanupSteps,
  ensureNamespace,
  installCrds,
  restoreHarnessNodeLabels,
  type TestOperator,
  waitForMetrics,
  zoneAVolume,
} from "../../harness/operator.ts";

const NS = `scone-stack-${Math.random().toString(36).slice(2, 8)}`;
const NAME = "stack-test";
const TEST_MANAGER = "scone-stack-test";
const SCONE_REF = { ...SCONE_TYPE, name: NAME };
const LAS_REF = { ...STACK_LAS_TYPE, name: "las" };
const PLUGIN_REF = { ...STACK_SGXPLUGIN_TYPE, name: "sgxplugin" };
const CAS_REF = { ...STACK_CAS_TYPE, namespace: NS, name: "cas" };
const OPERATOR_REF = { apiVersion: "apps/v1", kind: "Deployment", namespace: NS, name: "scone-controller-manager" };
const CLAIMS = ["database-cas-0", "database-snapshots-cas-0"];

/** The CAS as the fake probe reports it: unprovisioned until a test provisions it. */
class FakeCas implements CasProbe {
  provisioned: "Yes" | "No" = "No";
  version = "6.0.5";
  async probe(): Promise<CasProbeResult> {
    return { reachable: true, version: this.version, provisioned: this.provisioned, attestable: true };
  }
}

/** Records the scheduled backups (src/backup's runBackup is tested with its own suite). */
class RecordingBackups implements StackBackupPort {
  readonly runs: StackBackupRequest[] = [];
  async runBackup(req: StackBackupRequest) {
    this.runs.push(req);
    return { id: `bk-${this.runs.length}`, completedAt: new Date() };
  }
  async applyRetention() {
    return { removed: 0 };
  }
}

describe.skipIf(!clusterAvailable())("Scone stack controller", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  /** Every phase the Scone went through, in order, as the watch delivered them (repeats collapsed). */
  const phases: string[] = [];
  /** The Scone as the watch last delivered it: `phases` holds every phase up to this one. */
  let lastSeen: Scone | undefined;
  const fakeCas = new FakeCas();
  const backups = new RecordingBackups();

  const getScone = () => client.get<Scone>(SCONE_REF);
  const cond = (s: Scone, type: string) => s.status?.conditions?.find((c) => c.type === type);
  const waitScone = (what: string, ok: (s: Scone) => boolean, timeoutMs = 90_000) =>
    waitFor(
      what,
      async () => {
        const s = await getScone();
        return ok(s) ? s : undefined;
      },
      timeoutMs,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}; status: ${JSON.stringify((await getScone()).status)}`);
    });
  const patchSpec = (spec: Record<string, unknown>) =>
    client.patch(SCONE_REF, { spec }, "merge", { fieldManager: TEST_MANAGER });
  /**
   * Waits until the watch has delivered a Scone for which `done` holds. The watch trails the direct reads, and the
   * last phase recorded may be the one from before a change ("Running" before and after an update), so the wait
   * is on the delivered object itself.
   */
  const watched = (what: string, done: (s: Scone) => boolean) =>
    waitFor(`the watch to deliver ${what}`, () => (lastSeen !== undefined && done(lastSeen) ? lastSeen : undefined));
  /** Waits until the watch has delivered the Scone the API server holds now (nothing of it still on the way). */
  const watchCaughtUp = () =>
    waitFor("the watch to deliver the current Scone", async () => {
      const rv = (await getScone()).metadata.resourceVersion;
      return lastSeen?.metadata.resourceVersion === rv ? true : undefined;
    });
  /** The phases seen from now on, once `done` holds. */
  const phasesDuring = async (change: () => Promise<unknown>, done: (s: Scone) => boolean) => {
    // Phases of the previous step still on their way would otherwise count as this change's.
    await watchCaughtUp();
    const from = phases.length;
    await change();
    await waitScone("the change to settle", done);
    await watched("the settled Scone", done);
    return phases.slice(from);
  };
  /** Events are posted without holding up the reconcile: awaited like status. */
  const waitForEvents = (reason: string) =>
    waitFor(`a ${reason} Event`, async () => {
      const e = await eventsOf(reason);
      return e.length > 0 ? e : undefined;
    });
  const eventsOf = async (reason: string): Promise<CoreV1Event[]> =>
    (await client.list<CoreV1Event>({ apiVersion: "v1", kind: "Event" }, { namespace: "default" })).items.filter(
      (e) => e.involvedObject.kind === "Scone" && e.involvedObject.name === NAME && e.reason === reason,
    );
  const claims = async () =>
    (
      await client.list<V1PersistentVolumeClaim>({ apiVersion: "v1", kind: "PersistentVolumeClaim" }, { namespace: NS })
    ).items
      .map((c) => c.metadata?.name ?? "")
      .sort();

  beforeAll(async () => {
    cluster = await sharedCluster();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath, operatorNamespace: NS });
    client = op.client;
    await installCrds(client);
    await ensureNamespace(client, NS);
    // No storage provisioner here: one zone-a volume per CAS claim, pre-bound, so the CAS pod can run.
    for (const claim of CLAIMS) await client.create(zoneAVolume(NS, claim));
    registerSgxPluginController(op.ctx);
    registerLasController(op.ctx, { readLogs: false });
    registerCasController(op.ctx, fakeCas, { healthyRecheckMs: 1_000, unhealthyRecheckMs: 1_000 });
    registerSconeController(op.ctx, { retryBaseMs: 200, backups, backupCheckMs: 500 });
    op.ctx.informers.informer<KubeObject>({ type: SCONE_TYPE }).addHandlers({
      add: (o) => record(o as Scone),
      update: (_a, b) => record(b as Scone),
    });
    const record = (s: Scone) => {
      if (s.metadata.name !== NAME) return;
      lastSeen = s;
      const p = s.status?.phase ?? "Empty";
      if (phases.at(-1) !== p) phases.push(p);
    };
    await op.start();
    // start() does not wait for the first LIST: a Scone created before it would reach the handlers with a phase
    // already set, and "Empty" would be missing from `phases`.
    await op.ctx.informers.waitForSync();
  }, 300_000);

  afterAll(async () => {
    // Leave the shared cluster as the harness made it: no stack objects, SGX nodes labelled as before. Every step
    // runs even when one before it fails.
    const refs = [SCONE_REF, { ...SCONE_TYPE, name: `${NAME}-2` }, LAS_REF, PLUGIN_REF, CAS_REF];
    await cleanupSteps([
      () => op?.stop(),
      ...refs.flatMap((ref) => [
        () =>
          client
            ?.patch(ref, { metadata: { finalizers: null } }, "merge", { fieldManager: TEST_MANAGER })
            .catch(() => {}),
        () => client?.deleteIfExists(ref),
      ]),
      () => client && restoreHarnessNodeLabels(client),
      () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
      ...CLAIMS.map(
        (claim) => () => client?.deleteIfExists({ apiVersion: "v1", kind: "PersistentVolume", name: `${NS}-${claim}` }),
      ),
    ]);
  }, 120_000);

  test("Empty → Creating → Running: SGXPlugin and LAS HEALTHY, an unprovisioned CAS created", async () => {
    await client.create({
      ...SCONE_TYPE,
      metadata: { name: NAME },
      spec: { serviceVersion: "6.0.6" },
    } as KubeObject);
    const deployed = (s: Scone) => s.status?.phase === "Running" && cond(s, "Progressing")?.reason === "Deployed";
    const running = await waitScone("Running with LAS and SGXPlugin HEALTHY", deployed, 150_000);
    await watched("the Running Scone", deployed);
    expect(phases.slice(0, 3)).toEqual(["Empty", "Creating", "Running"]);
    expect(running.metadata.finalizers).toContain(SCONE_FINALIZER);
    expect(running.status).toMatchObject({
      deployedVersion: "6.0.6",
      lastSuccessPhase: "Creating",
      retryCount: 0,
      observedGeneration: running.metadata.generation,
    });
    expect(running.status?.deployedSpec).toMatch(/^[0-9a-f]{16}$/);
    expect(cond(running, "Ready")).toMatchObject({ status: "True", reason: "Deployed" });
    expect(cond(running, "Ready")?.message).toContain("LAS HEALTHY");
    // The CAS is not provisioned yet: nothing to back up, the first backup is due as soon as it is.
    expect(cond(running, "BackupScheduled")?.message).toContain("none completed yet, next due now");
    expect(backups.runs).toEqual([]);

    const las = await client.get<LAS>(LAS_REF);
    expect(las.spec?.image).toBe("registry.scontain.com/scone.cloud/las:6.0.6");
    expect(las.spec?.namespace).toBe(NS);
    expect(las.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Scone", name: NAME, uid: running.metadata.uid });
    const cas = await client.get<CAS>(CAS_REF);
    expect(cas.spec?.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(cas.spec?.["backup-controller"]?.enabled).toBe(false);
    expect(cas.spec?.nodeSelector?.["las.scontain.com/ok"]).toBe("true");
    expect((await waitForEvents("CasCreated")).length).toBe(1);
    const table = await cluster.kubectl(["get", "scones"]);
    expect(table.stdout).toMatch(/NAME\s+PHASE\s+VERSION\s+MANAGED\s+AGE/);
    expect(table.stdout).toMatch(new RegExp(`${NAME}\\s+Running\\s+6\\.0\\.6\\s+Managed`));
  }, 200_000);

  test("a spec change: Updating → Running; LAS and SGXPlugin move to the new version, the CAS is left to its owner", async () => {
    const seen = await phasesDuring(
      () => patchSpec({ serviceVersion: "6.0.5" }),
      (s) => s.status?.phase === "Running" && s.status.deployedVersion === "6.0.5",
    );
    expect(seen).toEqual(["Updating", "Running"]);
    const s = await getScone();
    expect(s.status?.lastSuccessPhase).toBe("Updating");
    expect((await client.get<LAS>(LAS_REF)).spec?.image).toBe("registry.scontain.com/scone.cloud/las:6.0.5");
    expect((await client.get<{ spec: { image: string } } & KubeObject>(PLUGIN_REF)).spec.image).toBe(
      "registry.scontain.com/scone.cloud/sgx-plugin:6.0.5",
    );
    // Upgrading CAS is owner-only (`scone cas provision --upgrade`): the stack does not touch it.
    expect((await client.get<CAS>(CAS_REF)).spec?.image).toBe("registry.scontain.com/scone.cloud/cas:6.0.6");
  }, 120_000);

  test("a provisioned CAS is backed up on schedule; the time is kept on the Scone and shown in status", async () => {
    fakeCas.provisioned = "Yes";
    const s = await waitScone("a completed backup in status", (x) =>
      (cond(x, "BackupScheduled")?.message ?? "").includes("last completed"),
    );
    expect(backups.runs[0]).toEqual({ casNamespace: NS, casName: "cas", retentionDays: 10 });
    const last = s.metadata.annotations?.[LAST_BACKUP_ANNOTATION] ?? "";
    expect(Date.parse(last)).toBeGreaterThan(0);
    // Interval 14400 s: no second backup now.
    await Bun.sleep(1_500);
    expect(backups.runs.length).toBe(1);
    const events = await waitForEvents("BackupCompleted");
    expect(events[0]?.message).toContain(`CAS ${NS}/cas completed`);
  }, 120_000);

  test("an upgrade waits for the provisioned CAS to be upgraded first, then LAS and SGX plugin follow", async () => {
    await patchSpec({ serviceVersion: "6.0.7" });
    const waiting = await waitScone(
      "Updating, waiting for the CAS upgrade",
      (s) => cond(s, "Progressing")?.reason === "WaitingForCasUpgrade",
    );
    expect(waiting.status?.phase).toBe("Updating");
    expect(waiting.status?.deployedVersion).toBe("6.0.5");
    expect(cond(waiting, "Progressing")?.message).toContain(`scone cas upgrade cas -n ${NS} --to-version 6.0.7`);
    expect((await client.get<LAS>(LAS_REF)).spec?.image).toBe("registry.scontain.com/scone.cloud/las:6.0.5");

    const seen = await phasesDuring(
      async () => {
        fakeCas.version = "6.0.7"; // what the owner's `scone cas upgrade` leads to
      },
      (s) => s.status?.phase === "Running" && s.status.deployedVersion === "6.0.7",
    );
    expect(seen).toEqual(["Running"]);
    expect((await client.get<LAS>(LAS_REF)).spec?.image).toBe("registry.scontain.com/scone.cloud/las:6.0.7");
  }, 120_000);

  test("a second Scone is not reconciled and says which one is", async () => {
    await client.create({
      ...SCONE_TYPE,
      metadata: { name: `${NAME}-2` },
      spec: { serviceVersion: "6.0.6" },
    } as KubeObject);
    const other = await waitFor("the second Scone's status", async () => {
      const s = await client.get<Scone>({ ...SCONE_TYPE, name: `${NAME}-2` });
      return cond(s, "Ready")?.reason === "NotReconciled" ? s : undefined;
    });
    expect(cond(other, "Ready")?.message).toContain(`Scone ${NAME} is this cluster's stack`);
    expect(other.metadata.finalizers ?? []).toEqual([]);
    await client.delete({ ...SCONE_TYPE, name: `${NAME}-2` });
  }, 60_000);

  test("a node selector the API server refuses: Error, 5 attempts, then it waits; a fix repairs it", async () => {
    // The in-cluster operator Deployment (replicas 0: only its pod template matters here).
    await client.create({
      ...OPERATOR_REF,
      metadata: { name: OPERATOR_REF.name, namespace: NS },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "scone-controller" } },
        template: {
          metadata: { labels: { app: "scone-controller" } },
          spec: { containers: [{ name: "manager", image: "registry.scontain.com/scone.cloud/k8soperators:6.0.5" }] },
        },
      },
    } as KubeObject);
    const before = await getScone();
    await patchSpec({ operatorNodeSelector: { "bad key!": "x" } });
    const waiting = await waitScone("waiting after 5 failed attempts", (s) => s.status?.retryCount === 5, 60_000);
    expect(waiting.status?.phase).toBe("Error");
    expect(waiting.status?.deployedVersion).toBe("6.0.7");
    expect(waiting.status?.deployedSpec).toBe(before.status?.deployedSpec as string);
    // Running → Updating (the change) → Error: the phase before Error.
    expect(waiting.status?.lastSuccessPhase).toBe("Updating");
    const degraded = cond(waiting, "Degraded");
    expect(degraded?.reason).toBe("WaitingForChange");
    expect(degraded?.message).toContain("waiting for a change after 5 failed attempts: operatorNodeSelector:");
    expect(degraded?.message).toContain("bad key!");
    await waitForMetrics(op, [
      `scone_stack_waiting_for_change{cr_name="${NAME}",cr_namespace=""} 1`,
      `scone_stack_retry_count{cr_name="${NAME}",cr_namespace=""} 5`,
    ]);
    // It waits: no further attempt without a change.
    await Bun.sleep(3_000);
    const still = await getScone();
    expect(still.status?.retryCount).toBe(5);
    expect(still.metadata.resourceVersion).toBe(waiting.metadata.resourceVersion);

    const seen = await phasesDuring(
      () => patchSpec({ operatorNodeSelector: { "bad key!": null, pool: "ops" } }),
      (s) => s.status?.phase === "Running" && s.metadata.generation === s.status.observedGeneration,
    );
    expect(seen).toEqual(["Repairing", "Running"]);
    const repaired = await getScone();
    expect(repaired.status?.retryCount).toBe(0);
    expect(repaired.status?.lastSuccessPhase).toBe("Repairing");
    expect(cond(repaired, "OperatorPlacement")).toMatchObject({ status: "True", reason: "Applied" });
    const dep = await client.get<V1Deployment>(OPERATOR_REF);
    expect(dep.spec?.template.spec?.nodeSelector).toEqual({ pool: "ops" });
    expect(dep.spec?.template.spec?.containers[0]?.image).toContain("k8soperators");
  }, 150_000);

  test("Unmanaged leaves hand-made changes alone; Managed again reverts them", async () => {
    await patchSpec({ managementState: "Unmanaged" });
    await waitScone("Unmanaged reported", (s) => cond(s, "Ready")?.reason === "Unmanaged");
    const handMade = "registry.scontain.com/scone.cloud/las:hand-made";
    await client.patch(LAS_REF, { spec: { image: handMade } }, "merge", { fieldManager: TEST_MANAGER });
    await Bun.sleep(3_000);
    expect((await client.get<LAS>(LAS_REF)).spec?.image).toBe(handMade);
    expect((await getScone()).status?.phase).toBe("Running");

    await patchSpec({ managementState: "Managed" });
    await waitFor("the LAS image to be restored", async () =>
      (await client.get<LAS>(LAS_REF)).spec?.image === "registry.scontain.com/scone.cloud/las:6.0.7" ? true : undefined,
    );
    await waitScone(
      "Running and Ready again",
      (s) => s.status?.phase === "Running" && cond(s, "Ready")?.status === "True",
    );
  }, 120_000);

  test("skipCas removes the CAS resource but keeps its PVCs; unset, a CAS comes back", async () => {
    // The CAS controller's StatefulSet → the controller-manager creates the claims.
    await waitFor("the CAS claims", async () => ((await claims()).length === 2 ? true : undefined), 90_000);
    await patchSpec({ skipCas: true });
    await waitFor("the CAS to be gone", async () => ((await client.tryGet(CAS_REF)) ? undefined : true), 90_000);
    expect(await claims()).toEqual(CLAIMS);
    const removed = await waitForEvents("CasRemoved");
    expect(removed[0]?.message).toContain("PVCs");
    const s = await waitScone(
      "Running without CAS",
      (x) => x.status?.phase === "Running" && cond(x, "BackupScheduled")?.reason === "NoCas",
    );
    expect(cond(s, "Ready")?.message).not.toContain("CAS");

    await patchSpec({ skipCas: false });
    await waitFor("a CAS again", async () => ((await client.tryGet(CAS_REF)) ? true : undefined), 60_000);
  }, 200_000);

  test("deleting the stack removes LAS, SGXPlugin and CAS, keeps the PVCs, then the Scone goes", async () => {
    await client.delete(SCONE_REF);
    await waitFor("the Scone to be gone", async () => ((await client.tryGet(SCONE_REF)) ? undefined : true), 90_000);
    for (const ref of [LAS_REF, PLUGIN_REF, CAS_REF])
      await waitFor(`${ref.kind} to be gone`, async () => ((await client.tryGet(ref)) ? undefined : true), 90_000);
    expect(await claims()).toEqual(CLAIMS);
    const uninstalled = await waitForEvents("Uninstalled");
    expect(uninstalled[0]?.message).toContain("kept: the CAS database PVCs");
  }, 200_000);
});
