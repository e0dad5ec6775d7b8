// The modes of `scone cas provision`, apart from options.ts so the CLI's command tree can name them without loading
// the option builder (and node:os, node:path) at every start.
export type ProvisionMode =
  | "provision"
  | "is-provisioned"
  | "verify"
  | "print-public-keys"
  | "preprovision-only"
  | "postprovision-only"
  | "local-backup"
  | "upgrade"
  | "cas-database-recovery";

/** Flags that pick what `provision` does instead of a full provisioning; at most one may be given. */
export const PROVISION_MODES = [
  "is-provisioned",
  "verify",
  "print-public-keys",
  "preprovision-only",
  "postprovision-only",
  "local-backup",
  "upgrade",
  "cas-database-recovery",
] as const satisfies readonly Exclude<ProvisionMode, "provision">[];
