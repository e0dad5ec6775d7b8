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

/** `--with-api` of `scone operator install` and `scone manifests` (src/install/api.ts). */
export const WITH_API_ARG: SconeArgsDef = {
  "with-api": {
    type: "boolean",
    description:
      "Also deploy the REST API beside the operator: `scone api --kube-auth` (rights from RBAC: ClusterRoles scone-api-operator, scone-api-viewer), Service scone-api, HTTPS with the operator's certificate",
  },
};
