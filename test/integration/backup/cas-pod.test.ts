// The production path of a backup, on the local cluster: a CAS pod on a KWOK node runs the CAS simulator
// (sim/kwok-cas), which takes database snapshots in its snapshot volume; scone takes the last-completed snapshot
// out of pod NAME-0 with src/kube/exec.ts (WebSocket exec, `readlink` + `tar -cf -` in container cas), stores it
// in the real S3 server, verifies it and fetches it back as a restore source. The bytes are the pod's snapshot.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CasPodRuntime, startCasPodRuntime } from "../../../sim/kwok-cas/runtime.ts";
import { sha256Hex } from "../../../src/backup/manifest.ts";
import { openTarget } from "../../../src/backup/open-target.ts";
import { PodSnapshotSource } from "../../../src/backup/pod-snapshot-source.ts";
import { resolveRestoreSource } from "../../../src/backup/restore-source.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { S3Credentials } from "../../../src/backup/s3-credentials.ts";
import { verifyBackup } from "../../../src/backup/verify.ts";
import { type ClusterConnection, loadKubeConfig } from "../../../src/kube/config.ts";
import { execInPod } from "../../../src/kube/exec.ts";
import { openStore, type Store } from "../../../src/store/open.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { sharedS3 } from "../../harness/s3.ts";

// Above the sum of the waits below (pod 60 s, first snapshot 60 s) plus the backup itself, on a busy machine.
const TIMEOUT = 180_000;
const BUCKET = "scone-backup-pod-it";
const ns = `backup-pod-${Math.random().toString(36).slice(2, 8)}`;

/** The CAS container's part that matters here: the snapshot env and volume (emptyDir: no PV needed). */
const casPod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "cas-0",
    namespace: ns,
    labels: { "app.kubernetes.io/name": "cas", "app.kubernetes.io/instance": "cas" },
  },
  spec: {
    nodeName: "sgx-node-2",
    containers: [
      {
        name: "cas",
        image: "registry.scontain.com/scone.cloud/cas:6.0.6",
        env: [
          { name: "CAS_DATABASE_SNAPSHOTS_INTERVAL", value: "1s" },
          { name: "CAS_DATABASE_SNAPSHOTS_DIRECTORY", value: "/var/mnt/cas-database-snapshots" },
        ],
        volumeMounts: [
          { name: "database", mountPath: "/etc/cas/db" },
          { name: "database-snapshots", mountPath: "/var/mnt/cas-database-snapshots" },
        ],
      },
    ],
    volumes: [
      { name: "database", emptyDir: {} },
      { name: "database-snapshots", emptyDir: {} },
    ],
  },
};

describe.skipIf(!clusterAvailable())("a backup of a simulated CAS pod through the API server", () => {
  let cluster: LocalCluster;
  let conn: ClusterConnection;
  let runtime: CasPodRuntime;
  let root: string;
  let store: Store;

  beforeAll(async () => {
    cluster = await sharedCluster();
    conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
    root = await mkdtemp(join(tmpdir(), "scone-backup-pod-it-"));
    runtime = await startCasPodRuntime({
      kubeconfig: cluster.kubeconfigPath,
      stateDir: join(root, "kwok-cas"),
      log: () => {},
    });
    store = openStore({ stateDir: join(root, "state") });
    const created = await cluster.kubectl(["create", "namespace", ns]);
    if (created.code !== 0) throw new Error(`creating namespace ${ns}: ${created.stderr}`);
    // A pod is refused until the controller-manager has made the namespace's default ServiceAccount.
    const deadline = Date.now() + 60_000;
    while ((await cluster.kubectl(["get", "serviceaccount", "-n", ns, "default"])).code !== 0) {
      if (Date.now() > deadline) throw new Error(`no ServiceAccount ${ns}/default after 60 s`);
      await Bun.sleep(200);
    }
    const applied = await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(casPod) });
    if (applied.code !== 0) throw new Error(`creating pod cas-0: ${applied.stderr}`);
  }, TIMEOUT);

  // Each step on its own: one failing must not leave the rest (the runtime's processes, the namespace) behind.
  afterAll(async () => {
    try {
      store?.close();
    } catch {
      // already closed
    }
    await cluster?.kubectl(["delete", "namespace", ns, "--wait=false"]).catch(() => undefined);
    await runtime?.stop().catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true }).catch(() => undefined);
  }, TIMEOUT);

  test(
    "exec + tar out of cas-0, into S3, verified, fetched back: the pod's last-completed snapshot, byte for byte",
    async () => {
      const pod = await runtime.waitForPod(`${ns}/cas-0`, 60_000);
      const snapshots = pod.paths.snapshotDir ?? "";
      expect(snapshots).not.toBe("");
      const deadline = Date.now() + 60_000;
      while (!existsSync(join(snapshots, "last-completed", "cas.key-store"))) {
        if (Date.now() > deadline) throw new Error(`no snapshot in ${snapshots} after 60 s`);
        await Bun.sleep(200);
      }

      const s3 = await sharedS3();
      await s3.bucket(BUCKET);
      const credentials = new S3Credentials(
        { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, endpoint: s3.endpoint },
        "test",
      );
      const record = await runBackup({
        cas: { namespace: ns, name: "cas", version: "6.0.6" },
        source: new PodSnapshotSource({ namespace: ns, name: "cas", exec: (o) => execInPod(conn, o) }),
        target: openTarget(`s3://${BUCKET}/cluster`, { credentials }),
        store,
      });
      expect(record).toMatchObject({ phase: "completed", error: null });
      expect(record.snapshotMarker).toMatch(/^snapshot-/);
      // The snapshot directories are immutable once complete: the one named by the marker holds what was copied.
      const copied = join(snapshots, record.snapshotMarker ?? "");
      for (const file of ["cas.db", "cas.key-store"]) {
        expect(record.files[file]?.sha256).toBe(sha256Hex(readFileSync(join(copied, file))));
      }
      expect(await verifyBackup(record.target, { credentials })).toMatchObject({ ok: true, problems: [] });
      const restored = await resolveRestoreSource(record.id, { store, credentials, tempDir: root });
      try {
        expect(readFileSync(join(restored.dir, "cas.key-store"))).toEqual(readFileSync(join(copied, "cas.key-store")));
        expect(restored.manifest.cas).toEqual({ namespace: ns, name: "cas", version: "6.0.6" });
      } finally {
        await restored.cleanup();
      }
    },
    TIMEOUT,
  );
});
