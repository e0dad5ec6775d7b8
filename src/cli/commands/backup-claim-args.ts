// Flags of the operator's backup claim (src/install/backup-claim.ts), shared by `scone operator install` and
// `scone manifests` so both render the same claim.
import type { SconeArgsDef } from "../spec.ts";

export const BACKUP_CLAIM_ARGS: SconeArgsDef = {
  "backup-claim": {
    type: "string",
    valueHint: "NAME",
    description:
      "PersistentVolumeClaim of the operator's backup directory, the default target of scheduled backups without S3 credentials (default: scone-operator-backups; created by install, kept by uninstall)",
  },
  "backup-storage-size": {
    type: "string",
    valueHint: "SIZE",
    description: "Size the backup claim requests, e.g. 20Gi (default: 10Gi)",
  },
  "backup-storage-class": {
    type: "string",
    valueHint: "CLASS",
    description: "StorageClass of the backup claim (default: the cluster's default class)",
  },
};
