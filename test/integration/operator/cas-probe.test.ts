// The operator's CAS probe against a CAS pod on the KWOK cluster (sim/kwok-cas runs the CAS simulator for it): what
// the snapshot volume holds, observed by exec in container cas (src/kube/exec.ts) — no endpoint of CAS is asked.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CasPodRuntime, startCasPodRuntime } from "../../../sim/kwok-cas/runtime.ts";
import { CLAIM_NAMESPACE_LABEL } from "../../../sim/kwok-cas/volumes.ts";
import type { ClusterConnection } from "../../../src/kube/config.ts";
import { loadKubeConfig } from "../../../src/kube/config.ts";
import { execInPod } from "../../../src/kube/exec.ts";
import { type CasPodExec, observeLastSnapshot } from "../../../src/operator/cas/snapshot-volume.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor } from "../../harness/kube.ts";
import { cleanupSteps } from "../../harness/operator.ts";

const TIMEOUT = 180_000;
const NAME = "cas";
const POD = `${NAME}-0`;
const SNAPSHOTS = "/var/mnt/cas-database-snapshots";
const ns = `cas-probe-${Math.random().toString(36).slice(2, 8)}`;
const signal = new AbortController().signal;

/** Pod NAME-0 as the CAS StatefulSet makes it (default ports), snapshots every second into an emptyDir. */
const casPod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: POD,
    namespace: ns,
    labels: { "app.kubernetes.io/name": "cas", "app.kubernetes.io/instance": NAME },
  },
  spec: {
    nodeName: "sgx-node-1",
    containers: [
      {
        name: "cas",
        image: "registry.scontain.com/scone.cloud/cas:6.0.6",
        env: [
          { name: "CAS_DATABASE_SNAPSHOTS_INTERVAL", value: "1s" },
          { name: "CAS_DATABASE_SNAPSHOTS_DIRECTORY", value: SNAPSHOTS },
        ],
        volumeMounts: [
          { name: "database", mountPath: "/etc/cas/db" },
          { name: "database-snapshots", mountPath: SNAPSHOTS },
        ],
      },
    ],
    volumes: [
      { name: "database", persistentVolumeClaim: { claimName: `database-${POD}` } },
      { name: "database-snapshots", emptyDir: {} },
    ],
  },
};

const casWith = (targetDirectory?: string): CAS =>
  ({
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    metadata: { name: NAME, namespace: ns },
    spec: { databaseSnapshots: { enabled: true, ...(targetDirectory ? { targetDirectory } : {}) } },
  }) as CAS;

describe.skipIf(!clusterAvailable())("the CAS probe's snapshot observation on a KWOK CAS pod", () => {
  let cluster: LocalCluster;
  let conn: ClusterConnection;
  let runtime: CasPodRuntime;
  let stateDir: string;
  let exec: CasPodExec;
  const execs: string[][] = [];

  beforeAll(async () => {
    cluster = await sharedCluster();
    conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
    exec = (o) => {
      execs.push([...o.command]);
      return execInPod(conn, o);
    };
    stateDir = await mkdtemp(join(tmpdir(), "scone-cas-probe-"));
    runtime = await startCasPodRuntime({ kubeconfig: cluster.kubeconfigPath, stateDir });
    await cluster.kubectl(["create", "namespace", ns]);
    // Pods are refused until the controller-manager has made the namespace's default ServiceAccount.
    await waitFor("the default ServiceAccount", async () => {
      const r = await cluster.kubectl(["-n", ns, "get", "serviceaccount", "default"]);
      if (r.code !== 0) throw new Error(r.stderr);
      return true;
    });
    const applied = await cluster.kubectl(["-n", ns, "apply", "-f", "-"], { stdin: JSON.stringify(casPod) });
    if (applied.code !== 0) throw new Error(applied.stderr);
    await runtime.waitForPod(`${ns}/${POD}`, 120_000);
  }, TIMEOUT);

  afterAll(async () => {
    await cleanupSteps([
      () => cluster?.kubectl(["delete", "namespace", ns, "--wait=false"]),
      () => runtime?.stop(),
      () => cluster?.kubectl(["delete", "persistentvolumes", "-l", `${CLAIM_NAMESPACE_LABEL}=${ns}`, "--wait=false"]),
      () => stateDir && rm(stateDir, { recursive: true, force: true }),
    ]);
  }, TIMEOUT);

  test(
    "last-completed's time, by stat in container cas; a directory without it gives no time",
    async () => {
      const started = Date.now();
      // The simulator makes its first snapshot one interval after it starts: wait for it to show.
      const seen = await waitFor(
        "a snapshot in last-completed",
        async () => {
          const o = await observeLastSnapshot(exec, casWith(), signal);
          if (!o.snapshotTimestamp) throw new Error("no last-completed yet");
          return o.snapshotTimestamp;
        },
        60_000,
      );
      // Whole seconds of a recent time (the pod started within this test's setup).
      expect(seen).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(Date.parse(seen)).toBeLessThanOrEqual(Date.now());
      expect(Date.parse(seen)).toBeGreaterThan(started - 10 * 60_000);
      expect(execs.at(-1)).toEqual(["stat", "-c", "%Y", "--", `${SNAPSHOTS}/last-completed`]);

      // The database directory holds no last-completed: stat fails in the pod, no time is made up.
      expect(await observeLastSnapshot(exec, casWith("/etc/cas/db"), signal)).toEqual({});
      expect(execs.at(-1)).toEqual(["stat", "-c", "%Y", "--", "/etc/cas/db/last-completed"]);
    },
    TIMEOUT,
  );
});
