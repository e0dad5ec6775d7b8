// The operator's backup volume: the PersistentVolumeClaim behind <state dir>/backups, the default target of the
// Scone stack's scheduled backups when no S3 credentials are given. An emptyDir would lose every backup with the
// pod; the claim outlives the pod, an operator upgrade and `scone operator uninstall` (as the CAS claims do), and
// the backup catalog is rebuilt from it when a new operator pod starts (src/operator/scone/backup-runner.ts).
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { dnsSubdomain, type Grammar, grammarProblem } from "../resources/grammar.ts";
import { canonicalQuantity } from "../runtime/quantity.ts";

export const DEFAULT_BACKUP_CLAIM = "scone-operator-backups";
export const DEFAULT_BACKUP_SIZE = "10Gi";
/** Helm keeps an object carrying this annotation on `helm uninstall` (the claim holds the backups). */
export const HELM_RESOURCE_POLICY = "helm.sh/resource-policy";

export interface BackupClaimOptions {
  /** Claim name (--backup-claim). */
  readonly name?: string;
  /** Requested size (--backup-storage-size), a Kubernetes quantity such as 20Gi. */
  readonly size?: string;
  /** StorageClass (--backup-storage-class); unset: the cluster's default class. */
  readonly storageClass?: string;
}

export interface ResolvedBackupClaim {
  readonly name: string;
  readonly size: string;
  readonly storageClass: string | undefined;
}

/** A positive whole quantity of bytes ("10Gi", "500M", "1073741824"): what a claim may request. */
export const STORAGE_SIZE_PATTERN = "^[1-9][0-9]{0,17}(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$";
const STORAGE_SIZE = new RegExp(STORAGE_SIZE_PATTERN);
export const storageSize: Grammar = (value) =>
  STORAGE_SIZE.test(value) ? undefined : "must be a positive whole size such as 10Gi, 500Mi or 20G";

function refuse(flag: string, value: string | undefined, grammar: Grammar): void {
  const problem = value === undefined ? undefined : grammarProblem(flag, value, grammar);
  if (problem) throw new Error(problem);
}

/** Checks each value by its grammar (the message names the flag) and fills in the defaults. */
export function resolveBackupClaim(o: BackupClaimOptions = {}): ResolvedBackupClaim {
  refuse("--backup-claim", o.name, dnsSubdomain);
  refuse("--backup-storage-size", o.size, storageSize);
  refuse("--backup-storage-class", o.storageClass, dnsSubdomain);
  return {
    name: o.name ?? DEFAULT_BACKUP_CLAIM,
    // The server stores the canonical form; rendering it keeps a re-install from seeing a difference.
    size: canonicalQuantity(o.size ?? DEFAULT_BACKUP_SIZE),
    storageClass: o.storageClass,
  };
}

export function renderBackupClaim(
  namespace: string,
  claim: ResolvedBackupClaim,
  labels: Record<string, string>,
): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: claim.name,
      namespace,
      labels: { ...labels, "app.kubernetes.io/component": "backups" },
      annotations: { [HELM_RESOURCE_POLICY]: "keep" },
    },
    spec: {
      // One operator pod mounts it at a time (the Deployment recreates its pod rather than rolling it).
      accessModes: ["ReadWriteOnce"],
      ...(claim.storageClass === undefined ? {} : { storageClassName: claim.storageClass }),
      resources: { requests: { storage: claim.size } },
    },
  };
}
