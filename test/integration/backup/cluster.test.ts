// Backups with the real local cluster: S3 credentials read from a Kubernetes Secret (the Scone resource's
// spec.backup.s3Creds layout) drive a backup to the real S3 server; wrong credentials fail the backup with the
// S3 error, naming the Secret and never its values. A restore from a set with a hostile manifest is refused before
// anything is written or created. (The snapshot taken out of a CAS pod: cas-pod.test.ts.)
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTarget } from "../../../src/backup/open-target.ts";
import { resolveRestoreSource } from "../../../src/backup/restore-source.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { s3CredentialsFromEnv, s3CredentialsFromKubeSecret } from "../../../src/backup/s3-credentials.ts";
import { DirectorySnapshotSource } from "../../../src/backup/snapshot-source.ts";
import { verifyBackup } from "../../../src/backup/verify.ts";
import { runRestore } from "../../../src/flows/restore/flow.ts";
import { openStore } from "../../../src/store/open.ts";
import { clusterAvailable } from "../../harness/cluster.ts";
import { useTestNamespace } from "../../harness/kube.ts";
import { installCrds } from "../../harness/operator.ts";
import { sharedS3 } from "../../harness/s3.ts";

const TIMEOUT = 60_000;
const BUCKET = "scone-backup-secret-it";
const root = mkdtempSync(join(tmpdir(), "scone-backup-cluster-it-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A snapshot root as the CAS lays it out: snapshot-…/{cas.db,cas.key-store} and last-completed → it. */
function snapshotRoot(label = "snapshots"): string {
  const dir = join(root, label);
  mkdirSync(join(dir, "snapshot-1"), { recursive: true });
  writeFileSync(join(dir, "snapshot-1", "cas.db"), crypto.getRandomValues(new Uint8Array(4096)));
  writeFileSync(join(dir, "snapshot-1", "cas.key-store"), crypto.getRandomValues(new Uint8Array(256)));
  symlinkSync("snapshot-1", join(dir, "last-completed"));
  return dir;
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
    "a restore from a set whose manifest names ../../x is refused: nothing written beside its temp dir, nothing created",
    async () => {
      await installCrds(env.admin);
      const s3 = await sharedS3();
      await s3.bucket(BUCKET);
      const credentials = s3CredentialsFromEnv({
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
        AWS_ENDPOINT_URL: s3.endpoint,
      });
      const store = openStore({ stateDir: join(root, "state-hostile") });
      try {
        const location = `s3://${BUCKET}/hostile-restore`;
        const cas = { namespace: env.ns, name: "cas" };
        const record = await runBackup({
          cas,
          source: new DirectorySnapshotSource(snapshotRoot("hostile")),
          target: openTarget(location, { credentials }),
          store,
        });
        expect(record.phase).toBe("completed");
        // The bucket's writer swaps in a manifest that also lists ../../x, and puts matching bytes where it points.
        const bucket = new Bun.S3Client({
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
          region: s3.region,
          endpoint: s3.endpoint,
          bucket: BUCKET,
        });
        const set = `hostile-restore/${env.ns}/cas/${record.id}`;
        const manifest = JSON.parse(await bucket.file(`${set}/backup.json`).text());
        manifest.files["../../x"] = manifest.files["cas.db"];
        await bucket.write(`${set}/backup.json`, JSON.stringify(manifest));
        await bucket.write(`hostile-restore/${env.ns}/x`, await bucket.file(`${set}/cas.db`).bytes());

        const temps = join(root, "restore-temps");
        mkdirSync(join(temps, "a"), { recursive: true });
        const execs: string[] = [];
        const outcome = await runRestore(
          {
            kube: env.admin,
            exec: async (o) => {
              execs.push(o.command.join(" "));
              return { exitCode: 1, stdout: new Uint8Array(), stderr: "" };
            },
            resolveSource: (spec) => resolveRestoreSource(spec, { credentials, tempDir: join(temps, "a") }),
          },
          { namespace: env.ns, name: "restored", from: record.target, defaultVersion: "6.0.6", timeoutMs: 5_000 },
        );
        expect(outcome).toMatchObject({ ok: false, refused: true });
        expect(outcome.error).toContain('backup.json lists "../../x", which is not a backup file');
        expect(readdirSync(temps)).toEqual(["a"]);
        expect(readdirSync(join(temps, "a"))).toEqual([]);
        expect(execs).toEqual([]);
        const listed = async (apiVersion: string, kind: string) =>
          (await env.admin.list({ apiVersion, kind }, { namespace: env.ns })).items.map((o) => o.metadata?.name);
        expect(await listed("services.scone.cloud/v1beta1", "CAS")).toEqual([]);
        expect(await listed("v1", "PersistentVolumeClaim")).toEqual([]);
      } finally {
        store.close();
      }
    },
    TIMEOUT,
  );
});
