// `scone cas restore` decisions (pure): whether the new CAS may be created (upstream refuses when the CAS or its
// database claim exists), how an interrupted restore is recognised (the annotation naming the backup), where the
// snapshot files go in the pod (§3.3 recovery hand-off), and what `sha256sum` in the pod says about them.
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { BackupManifest } from "../../backup/manifest.ts";
import type { CAS } from "../../resources/cas.ts";

/** On a CAS created by `scone cas restore`: the id of the backup it was restored from. */
export const RESTORED_FROM_ANNOTATION = "cas.scone.cloud/restored-from";
export const DATABASE_DIR = "/etc/cas/db";
/** Where upstream's recovery places the snapshot (SCONE-INTERFACE §3.3); the CAS takes them over at its restart. */
export const RECOVERY_FILES = { "cas.db": "last-snapshot-db", "cas.key-store": "last-snapshot-cas.key-store" } as const;
export const KEY_STORE_FILE = "cas.key-store";

export type TargetCheck =
  | { readonly action: "create" }
  | { readonly action: "resume"; readonly why: string }
  | { readonly action: "refuse"; readonly reason: string };

/** May `name` be created from backup `backupId`, or is it a restore of that backup already under way? */
export function checkRestoreTarget(input: {
  readonly cas: CAS | undefined;
  readonly claim: V1PersistentVolumeClaim | undefined;
  readonly claimName: string;
  readonly backupId: string;
}): TargetCheck {
  const { cas, claim } = input;
  if (cas) {
    const from = cas.metadata.annotations?.[RESTORED_FROM_ANNOTATION];
    if (from === input.backupId) return { action: "resume", why: `CAS restored from ${from} exists: continuing` };
    const what = from ? `was restored from ${from}` : "exists";
    return {
      action: "refuse",
      reason: `CAS ${cas.metadata.namespace}/${cas.metadata.name} ${what}; choose a new name (restore never overwrites a CAS)`,
    };
  }
  if (claim) {
    return {
      action: "refuse",
      reason: `PersistentVolumeClaim ${input.claimName} exists and would hand its old database to the new CAS; delete it or choose another name`,
    };
  }
  return { action: "create" };
}

/** `sha256sum a b c` output ("<hex>  <path>" per file, missing files on stderr) → file name → hash. */
export function parseSha256sum(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (!m) continue;
    const path = m[2] as string;
    out[path.slice(path.lastIndexOf("/") + 1)] = m[1] as string;
  }
  return out;
}

export type RestoreProgress = "restored" | "files-placed" | "nothing";

/** How far the pod is: its key store is the backup's (restored), the recovery files wait for a restart, or neither. */
export function restoreProgress(hashes: Record<string, string>, manifest: BackupManifest): RestoreProgress {
  const want = (file: keyof typeof RECOVERY_FILES) => manifest.files[file]?.sha256;
  if (hashes[KEY_STORE_FILE] !== undefined && hashes[KEY_STORE_FILE] === want("cas.key-store")) return "restored";
  const placed = (Object.keys(RECOVERY_FILES) as (keyof typeof RECOVERY_FILES)[]).every(
    (f) => hashes[RECOVERY_FILES[f]] !== undefined && hashes[RECOVERY_FILES[f]] === want(f),
  );
  return placed ? "files-placed" : "nothing";
}

export function randomNonce(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
}
