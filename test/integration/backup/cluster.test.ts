// Backups with the real local cluster: S3 credentials read from a Kubernetes Secret (the Scone resource's
// spec.backup.s3Creds layout) drive a backup to the real S3 server; wrong credentials fail the backup with the
// S3 error, naming the Secret and never its values. The snapshot is taken out of a simulated pod NAME-0 through
// the API server's exec (kwok runs the pod's commands on this host, so readlink and tar see the snapshot dir).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../../../src/backup/manifest.ts";
import { openTarget } from "../../../src/backup/open-target.ts";
import { type PodExec, PodSnapshotSource } from "../../../src/backup/pod-snapshot-source.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { s3CredentialsFromKubeSecret } from "../../../src/backup/s3-credentials.ts";
import { DirectorySnapshotSource } from "../../../src/backup/snapshot-source.ts";
import { verifyBackup } from "../../../src/backup/verify.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { openStore } from "../../../src/store/open.ts";
import { clusterAvailable, type LocalCluster } from "../../harness/cluster.ts";
import { sharedS3 } from "../../harness/s3.ts";
import { useTestNamespace, waitFor } from "../kube/helpers.ts";

const TIMEOUT = 60_000;
const BUCKET = "scone-backup-secret-it";
const root = mkdtempSync(join(tmpdir(), "scone-backup-cluster-it-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A snapshot root as the CAS lays it out: snapshot-…/{cas.db,cas.key-store} and last-completed → it. */
function snapshotRoot(name = "snapshots"): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "snapshot-1"), { recursive: true });
  writeFileSync(join(dir, "snapshot-1", "cas.db"), crypto.getRandomValues(new Uint8Array(4096)));
  writeFileSync(join(dir, "snapshot-1", "cas.key-store"), crypto.getRandomValues(new Uint8Array(256)));
  symlinkSync("snapshot-1", join(dir, "last-completed"));
  return dir;
}

/** `kubectl exec` through the cluster's API server, stdout as raw bytes (a tar stream). */
function kubectlExec(cluster: LocalCluster): PodExec {
  return async (options) => {
    const { binaryPaths } = await import("../../../hack/cluster/binaries.ts");
    const args = [`--kubeconfig=${cluster.kubeconfigPath}`, "exec", "-n", options.namespace, options.pod];
    if (options.container) args.push("-c", options.container);
    const child = Bun.spawn([binaryPaths(cluster.k8sVersion).kubectl, ...args, "--", ...options.command], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).arrayBuffer(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { exitCode, stdout: new Uint8Array(stdout), stderr };
  };
}

describe.skipIf(!clusterAvailable())("backups with S3 credentials from a Kubernetes Secret", () => {
  const env = useTestNamespace("backup-s3");

  test(
    "a Secret with accessKeyId, secretAccessKey, endpoint, region and bucket drives a backup; wrong keys fail it",
    async () => {
      const s3 = await sharedS3();
      await s3.bucket(BUCKET);
      const secret = (name: string, secretAccessKey: string) =>
        env.admin.create({
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name, namespace: env.ns },
          stringData: {
            accessKeyId: s3.accessKeyId,
            secretAccessKey,
            endpoint: s3.endpoint,
            region: s3.region,
            bucket: BUCKET,
          },
        } as never);
      await secret("s3-creds", s3.secretAccessKey);
      await secret("s3-wrong", "not-the-secret-key-0123456789");
      const store = openStore({ stateDir: join(root, "state") });
      const source = new DirectorySnapshotSource(snapshotRoot());
      const cas = { namespace: env.ns, name: "cas" };
      try {
        const credentials = await s3CredentialsFromKubeSecret(env.admin, { namespace: env.ns, name: "s3-creds" });
        expect(credentials).toMatchObject({
          bucket: BUCKET,
          endpoint: s3.endpoint,
          origin: `Secret ${env.ns}/s3-creds`,
        });
        const location = `s3://${credentials.bucket}/from-secret`;
        const record = await runBackup({ cas, source, target: openTarget(location, { credentials }), store });
        expect(record).toMatchObject({ phase: "completed", target: `${location}/${env.ns}/cas/${record.id}` });
        expect(await verifyBackup(record.target, { credentials })).toMatchObject({ ok: true, problems: [] });

        const wrong = await s3CredentialsFromKubeSecret(env.admin, { namespace: env.ns, name: "s3-wrong" });
        const failed = await runBackup({ cas, source, target: openTarget(location, { credentials: wrong }), store });
        expect(failed.phase).toBe("failed");
        expect(failed.error).toContain("SignatureDoesNotMatch");
        expect(failed.error).toContain(`(credentials from Secret ${env.ns}/s3-wrong)`);
        expect(failed.error).not.toContain("not-the-secret-key-0123456789");
        expect(failed.error).not.toContain(s3.accessKeyId);
      } finally {
        store.close();
      }
    },
    TIMEOUT,
  );

  test(
    "the snapshot comes out of pod NAME-0 (container cas) through exec: the backup holds its exact bytes",
    async () => {
      const s3 = await sharedS3();
      await s3.bucket(BUCKET);
      await env.admin.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "cas-0", namespace: env.ns },
        spec: { containers: [{ name: "cas", image: "registry.invalid/cas:6.0.6" }] },
      } as never);
      await waitFor("pod cas-0 running on a simulated node", async () => {
        const pod = await env.admin.get<KubeObject & { status?: { phase?: string } }>({
          apiVersion: "v1",
          kind: "Pod",
          name: "cas-0",
          namespace: env.ns,
        });
        return pod.status?.phase === "Running" || undefined;
      });
      const snapshots = snapshotRoot("pod-snapshots");
      const store = openStore({ stateDir: join(root, "pod-state") });
      try {
        const credentials = await s3CredentialsFromKubeSecret(env.admin, { namespace: env.ns, name: "s3-creds" });
        const source = new PodSnapshotSource({
          namespace: env.ns,
          name: "cas",
          exec: kubectlExec(env.cluster),
          snapshotDir: snapshots,
        });
        const record = await runBackup({
          cas: { namespace: env.ns, name: "cas" },
          source,
          target: openTarget(`s3://${BUCKET}/from-pod`, { credentials }),
          store,
        });
        expect(record).toMatchObject({ phase: "completed", snapshotMarker: "snapshot-1", error: null });
        expect(record.files["cas.db"]?.sha256).toBe(
          sha256Hex(await Bun.file(join(snapshots, "snapshot-1", "cas.db")).bytes()),
        );
        expect(record.files["cas.key-store"]?.sha256).toBe(
          sha256Hex(await Bun.file(join(snapshots, "snapshot-1", "cas.key-store")).bytes()),
        );
        expect(await verifyBackup(record.target, { credentials })).toMatchObject({ ok: true });
      } finally {
        store.close();
      }
    },
    TIMEOUT,
  );
});
