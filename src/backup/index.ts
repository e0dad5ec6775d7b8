// The backup layer's public surface (for `scone cas backup|backups|restore` and the operator's scheduled backups).
// Import it lazily: it pulls in the store (drizzle). Typical calls:
//   backup:   runBackup({ cas: backupSubjectOf(casResource), source: new PodSnapshotSource({ namespace, name,
//               exec: (o) => execInPod(conn, o) }), target: openTarget(to ?? defaultBackupLocation(stateDir),
//               { credentials }), store })  → catalog record (completed | failed); throws BackupInProgressError
//   backups:  listBackups({ store, namespace, name }); listTargetBackups(openTarget(url, { credentials }))
//   verify:   verifyBackup(id | directory | s3 URL, { store, credentials }) → { ok, problems }
//   restore:  resolveRestoreSource(idOrDirOrUrl, { store, credentials }) → { dir, manifest, cleanup } or throws
//             BackupVerificationError — before anything is created
//   retention: applyRetention + executeRetention (scheduling: src/operator/scone/backup-schedule.ts)
//   credentials: s3CredentialsFromEnv() or s3CredentialsFromKubeSecret(kube, { namespace, name })
export * from "./catalog.ts";
export * from "./errors.ts";
export * from "./layout.ts";
export * from "./list.ts";
export * from "./local-target.ts";
export * from "./location.ts";
export * from "./manifest.ts";
export * from "./open-target.ts";
export * from "./plan.ts";
export * from "./pod-snapshot-source.ts";
export * from "./restore-source.ts";
export * from "./retention.ts";
export * from "./run.ts";
export * from "./s3-credentials.ts";
export * from "./s3-target.ts";
export * from "./snapshot-source.ts";
export * from "./source.ts";
export * from "./tar.ts";
export * from "./target.ts";
export * from "./verify.ts";
