// The StackBackupPort over src/backup: a backup = runBackup of the stack's CAS (snapshot fetched by exec from pod
// cas-0, written to the target, recorded in the catalog); retention = applyTargetRetention over the
// target's listing. Target: the bucket of spec.backup.s3Creds (the credentials copy's `bucket` key, prefix scone-backups),
// else <operator state dir>/backups. Loaded lazily: src/backup pulls in the store.
import type { KubeClient } from "../../kube/client.ts";
import type { StoreDb } from "../../store/open.ts";
import type { StackBackupPort, StackBackupRequest } from "./backup-runner.ts";

export interface CatalogBackupPortOptions {
  readonly kube: KubeClient;
  readonly store: { readonly db: StoreDb };
  /** The operator's state directory (local backups go to <stateDir>/backups). */
  readonly stateDir: string;
  readonly now?: () => number;
  /** How commands run in the CAS pod (default: execInPod over the client's connection; tests run them locally). */
  readonly exec?: import("../../backup/pod-snapshot-source.ts").PodExec;
  /** Snapshot root inside the pod (default: the CAS's /var/mnt/cas-database-snapshots). */
  readonly snapshotDir?: string;
}

/** Prefix of the stack's backups inside the bucket. */
export const BUCKET_PREFIX = "scone-backups";

/**
 * The stack's backup target: the bucket of the credentials copy (prefix scone-backups), else <stateDir>/backups
 * (the operator's backup volume). The audit-log archive shares it (src/operator/audit).
 */
export async function stackBackupTarget(
  kube: KubeClient,
  stateDir: string,
  credentialsSecret?: { readonly namespace: string; readonly name: string },
): Promise<import("../../backup/target.ts").BackupTarget> {
  const b = await import("../../backup/index.ts");
  if (!credentialsSecret) return b.openTarget(b.defaultBackupLocation(stateDir));
  const credentials = await b.s3CredentialsFromKubeSecret(kube, credentialsSecret);
  if (!credentials.bucket)
    throw new Error(
      `Secret ${credentialsSecret.namespace}/${credentialsSecret.name} (from spec.backup.s3Creds) has no key bucket: add the bucket name`,
    );
  return b.openTarget(`s3://${credentials.bucket}/${BUCKET_PREFIX}`, { credentials });
}

export function catalogBackupPort(o: CatalogBackupPortOptions): StackBackupPort {
  const load = () => import("../../backup/index.ts");

  const targetOf = (req: StackBackupRequest) => stackBackupTarget(o.kube, o.stateDir, req.credentialsSecret);

  return {
    async runBackup(req, signal) {
      const b = await load();
      const { execInPod } = await import("../../kube/exec.ts");
      const cas = await o.kube.get<import("../../resources/cas.ts").CAS>({
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        namespace: req.casNamespace,
        name: req.casName,
      });
      const target = await targetOf(req);
      const source = new b.PodSnapshotSource({
        namespace: req.casNamespace,
        name: req.casName,
        exec: o.exec ?? ((e) => execInPod(o.kube.transport.connection, { ...e, signal })),
        ...(o.snapshotDir ? { snapshotDir: o.snapshotDir } : {}),
      });
      const record = await b.runBackup({
        cas: b.backupSubjectOf(cas),
        source,
        target,
        store: o.store,
        ...(o.now ? { now: o.now } : {}),
      });
      if (record.phase !== "completed") throw new Error(record.error ?? `backup ${record.id} ended ${record.phase}`);
      return { id: record.id, completedAt: new Date(record.stoppedAt ?? record.startedAt) };
    },

    async refreshCatalog(req) {
      const b = await load();
      const done = await b.refreshCatalog(o.store, await targetOf(req), {
        namespace: req.casNamespace,
        name: req.casName,
      });
      return { added: done.added.length, removed: done.removed.length };
    },

    async applyRetention(req) {
      const b = await load();
      // Decided from the target's listing (a restarted or second operator sees the same sets), not the cache.
      const target = await targetOf(req);
      const result = await b.applyTargetRetention({
        target,
        cas: { namespace: req.casNamespace, name: req.casName },
        policy: { keepDays: req.retentionDays },
        now: (o.now ?? Date.now)(),
        store: o.store,
      });
      if (result.failed.length > 0) throw new Error(result.failed.map((f) => `${f.id}: ${f.error}`).join("; "));
      return { removed: result.deleted.length };
    },
  };
}
