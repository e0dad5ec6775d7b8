// The local cluster has no storage provisioner, so a CAS StatefulSet's claims (database-NAME-0,
// database-snapshots-NAME-0) would stay Pending and its pod would never be scheduled. The runtime stands in for one:
// for each Pending claim labelled app.kubernetes.io/name=cas it creates a PersistentVolume pre-bound to the claim
// (claimRef), whose hostPath is the claim's directory in the state dir — the directory the simulator uses anyway.
// Reclaim policy Retain: like upstream's retained claims, the data outlives the CAS.
import type { V1PersistentVolume, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { MANAGED_BY } from "./kwok-objects.ts";
import { volumeDir } from "./layout.ts";

export const CLAIM_NAMESPACE_LABEL = "kwok-cas.scone.cloud/claim-namespace";

/** The PV name for a claim: unique per namespace and claim, within the 253 characters of a DNS subdomain. */
export function volumeName(namespace: string, claim: string): string {
  return `kwok-cas-${namespace}-${claim}`.slice(0, 253);
}

/**
 * The PV to create for a claim, or undefined when the claim needs none: bound, being deleted, or some PV already
 * names it in its claimRef (a test or an admin made one, e.g. zonal; that one must win the binding). Pure.
 */
export function volumeForClaim(
  claim: V1PersistentVolumeClaim,
  stateDir: string,
  volumes: readonly V1PersistentVolume[] = [],
): V1PersistentVolume | undefined {
  const namespace = claim.metadata?.namespace ?? "default";
  const name = claim.metadata?.name ?? "";
  if (claim.spec?.volumeName || claim.metadata?.deletionTimestamp || claim.status?.phase === "Bound") return undefined;
  const claimed = volumes.some((v) => v.spec?.claimRef?.namespace === namespace && v.spec.claimRef.name === name);
  if (claimed) return undefined;
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name: volumeName(namespace, name),
      labels: { ...MANAGED_BY, [CLAIM_NAMESPACE_LABEL]: namespace },
    },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? "1Gi" },
      accessModes: claim.spec?.accessModes?.length ? claim.spec.accessModes : ["ReadWriteOnce"],
      // A claim without a class binds only to a PV of class "" (no default class on this cluster).
      storageClassName: claim.spec?.storageClassName ?? "",
      persistentVolumeReclaimPolicy: "Retain",
      hostPath: { path: volumeDir(stateDir, namespace, name), type: "DirectoryOrCreate" },
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid: claim.metadata?.uid },
    },
  };
}
