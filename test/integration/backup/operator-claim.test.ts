// The operator's backup claim on the local cluster (issue 14): the claim install renders binds to a volume (here
// one pre-bound by claimRef: the cluster has no provisioner), the operator pod is scheduled with it, and it stays
// bound to the same volume when the pod is deleted and replaced. A scheduled backup written into that volume's
// directory (where the pod mounts it: <state dir>/backups) is listed by a fresh process with an empty store, as a
// restarted operator's catalog is rebuilt. KWOK runs no containers: the test writes where the pod would.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { DEFAULT_BACKUP_CLAIM } from "../../../src/install/backup-claim.ts";
import { renderInstallManifests } from "../../../src/install/manifests.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { catalogBackupPort } from "../../../src/operator/scone/backup-port.ts";
import { openStore, type Store } from "../../../src/store/open.ts";
import { cleanup as cleanupFixtures, localExec, snapshotRoot } from "../../harness/backup-fixtures.ts";
import { backupVolumeDir, backupVolumeName, preboundBackupVolume } from "../../harness/backup-volume.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { removeInstall } from "../../harness/flows.ts";
import { freshNamespace, waitFor } from "../../harness/kube.ts";
import { cleanupSteps } from "../../harness/operator.ts";

const TIMEOUT = 120_000;

/** The CAS the backup port reads (provisioned), without a CAS in the cluster: only its status matters here. */
const kubeWithCas = {
  get: async () => ({
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    metadata: { name: "cas", namespace: "scone-system" },
    status: { provisioned: "Yes", version: "6.0.6" },
  }),
} as unknown as KubeClient;

describe.skipIf(!clusterAvailable())("the operator's backup claim on the local cluster", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let ns = "";
  const work = mkdtempSync(join(tmpdir(), "scone-backup-claim-it-"));
  const stores: Store[] = [];

  /** A state directory whose backups/ is the claim's volume, as the operator pod's mount makes it. */
  const podStateDir = (name: string) => {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    symlinkSync(backupVolumeDir(ns), join(dir, "backups"));
    return dir;
  };

  const operatorPods = async () =>
    (
      await admin.list<V1Pod>(
        { apiVersion: "v1", kind: "Pod" },
        { namespace: ns, labelSelector: "control-plane=controller-manager" },
      )
    ).items.filter((p) => !p.metadata?.deletionTimestamp);

  const scheduledPod = (notUid?: string) =>
    waitFor(
      "an operator pod scheduled with the backup claim",
      async () =>
        (await operatorPods()).find(
          (p) =>
            p.metadata?.uid !== notUid &&
            p.spec?.nodeName &&
            p.spec.volumes?.some((v) => v.persistentVolumeClaim?.claimName === DEFAULT_BACKUP_CLAIM),
        ),
      TIMEOUT,
    );

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    ns = await freshNamespace(admin, "backup-claim");
  }, 1_800_000);

  afterAll(async () => {
    await cleanupSteps([
      () => admin && ns && removeInstall(admin, ns),
      () => {
        for (const s of stores.splice(0)) s.close();
        cleanupFixtures();
        rmSync(work, { recursive: true, force: true });
      },
    ]);
  }, TIMEOUT);

  test(
    "install's claim binds to the pre-bound volume and the operator pod is scheduled with it",
    async () => {
      // The objects install applies for the Deployment (its ServiceAccount, the claim, the Deployment itself).
      const wanted = new Set(["ServiceAccount", "PersistentVolumeClaim", "Deployment"]);
      const objects = renderInstallManifests({ namespace: ns }).filter((o) => wanted.has(o.kind ?? ""));
      expect(objects.map((o) => o.kind)).toEqual(["ServiceAccount", "PersistentVolumeClaim", "Deployment"]);
      await preboundBackupVolume(admin, ns);
      for (const o of objects) await admin.create(o as KubeObject);

      const claim = await waitFor(
        "the backup claim Bound",
        async () => {
          const c = await admin.get<V1PersistentVolumeClaim>({
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            namespace: ns,
            name: DEFAULT_BACKUP_CLAIM,
          });
          return c.status?.phase === "Bound" ? c : undefined;
        },
        TIMEOUT,
      );
      expect(claim.spec?.volumeName).toBe(backupVolumeName(ns));
      const pv = await admin.get<V1PersistentVolume>({
        apiVersion: "v1",
        kind: "PersistentVolume",
        name: backupVolumeName(ns),
      });
      expect(pv.status?.phase).toBe("Bound");
      expect(pv.spec?.hostPath?.path).toBe(backupVolumeDir(ns));
      await scheduledPod();
    },
    TIMEOUT,
  );

  test(
    "a backup in the claim's directory survives the pod's replacement and a fresh process rebuilds the catalog from it",
    async () => {
      const snap = snapshotRoot();
      const before = await scheduledPod();
      const store = openStore({ stateDir: podStateDir("first-pod") });
      stores.push(store);
      const port = catalogBackupPort({
        kube: kubeWithCas,
        store,
        stateDir: join(work, "first-pod"),
        exec: localExec(),
        snapshotDir: snap.root,
      });
      const signal = new AbortController().signal;
      const req = { casNamespace: "scone-system", casName: "cas", retentionDays: 7 };
      const taken = await port.runBackup(req, signal);

      // The operator pod restarts: a new pod, the same claim, still bound to the same volume.
      await admin.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: before.metadata?.name ?? "" });
      const after = await scheduledPod(before.metadata?.uid);
      expect(after.metadata?.uid).not.toBe(before.metadata?.uid);
      const claim = await admin.get<V1PersistentVolumeClaim>({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: ns,
        name: DEFAULT_BACKUP_CLAIM,
      });
      expect({ phase: claim.status?.phase, volume: claim.spec?.volumeName }).toEqual({
        phase: "Bound",
        volume: backupVolumeName(ns),
      });

      // The new pod's process: an empty store, the same volume at <state dir>/backups; `scone cas backups --refresh`
      // reads the default location, as the operator's backup runner does at start.
      const fresh = podStateDir("second-pod");
      const cli = (args: string[]) =>
        Bun.spawn([process.execPath, join(import.meta.dir, "../../../src/main.ts"), "cas", "backups", ...args], {
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
          env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1" },
        });
      const refresh = cli(["--refresh", "--state-dir", fresh, "-o", "json"]);
      const [stdout, stderr, code] = await Promise.all([
        new Response(refresh.stdout).text(),
        new Response(refresh.stderr).text(),
        refresh.exited,
      ]);
      expect(`${code}\n${stderr}`).toMatch(/^0\n[\s\S]*1 backup sets, 1 added, 0 removed/);
      const listed = JSON.parse(stdout) as { id: string; namespace: string; name: string; phase: string }[];
      expect(listed.map((b) => ({ id: b.id, namespace: b.namespace, name: b.name, phase: b.phase }))).toEqual([
        { id: taken.id, namespace: "scone-system", name: "cas", phase: "completed" },
      ]);
    },
    TIMEOUT,
  );
});
