// The local clusters have no storage provisioner: the operator's backup claim (src/install/backup-claim.ts) would
// stay Pending and the scheduler would never place the operator pod. A test that runs the installed Deployment
// stands in for a provisioner: a PersistentVolume pre-bound to the claim (claimRef), on a directory of this machine
// (the real node's kubelet runs here; on KWOK nothing mounts it). Deleted with the install (removeInstall).
import { chownSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1PersistentVolume } from "@kubernetes/client-node";
import { DEFAULT_BACKUP_CLAIM, DEFAULT_BACKUP_SIZE } from "../../src/install/backup-claim.ts";
import type { KubeClient } from "../../src/kube/client.ts";

/** The operator container's user (src/install/operator.ts): it must be able to write the backups there. */
const OPERATOR_UID = 65532;

export const backupVolumeName = (namespace: string): string => `scone-backups-${namespace}`.slice(0, 253);

/** The directory behind the volume of an install into `namespace` (one per namespace: random test namespaces). */
export const backupVolumeDir = (namespace: string): string => join(tmpdir(), backupVolumeName(namespace));

export function backupVolume(
  namespace: string,
  dir: string,
  claim = DEFAULT_BACKUP_CLAIM,
  size = DEFAULT_BACKUP_SIZE,
): V1PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: backupVolumeName(namespace), labels: { "app.kubernetes.io/part-of": "scone-tests" } },
    spec: {
      capacity: { storage: size },
      accessModes: ["ReadWriteOnce"],
      // The claim names no class and the cluster has no default one: it binds only to a PV of class "".
      storageClassName: "",
      persistentVolumeReclaimPolicy: "Retain",
      // DirectoryOrCreate: should the kubelet not see this machine's directory, it makes its own (pod still starts).
      hostPath: { path: dir, type: "DirectoryOrCreate" },
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name: claim },
    },
  };
}

/**
 * Creates the directory (0700, owned by the operator's user when we may chown) and the PV pre-bound to the claim;
 * a second call for the same namespace (a re-install) finds the PV there and leaves it.
 */
export async function preboundBackupVolume(
  admin: KubeClient,
  namespace: string,
  claim = DEFAULT_BACKUP_CLAIM,
): Promise<V1PersistentVolume> {
  const pv = backupVolume(namespace, backupVolumeDir(namespace), claim);
  const existing = await admin.tryGet<V1PersistentVolume>({
    apiVersion: "v1",
    kind: "PersistentVolume",
    name: backupVolumeName(namespace),
  });
  if (existing) return existing;
  mkdirSync(backupVolumeDir(namespace), { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) chownSync(backupVolumeDir(namespace), OPERATOR_UID, OPERATOR_UID);
  return admin.create(pv);
}

/** The PV and its directory (after the namespace, hence the claim, is gone or going). */
export async function removeBackupVolume(admin: KubeClient, namespace: string): Promise<void> {
  await admin.deleteIfExists({ apiVersion: "v1", kind: "PersistentVolume", name: backupVolumeName(namespace) });
  rmSync(backupVolumeDir(namespace), { recursive: true, force: true });
}
