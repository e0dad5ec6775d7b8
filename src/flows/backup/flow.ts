// `scone cas backup NAME -n NS [--to DIR|s3://bucket/prefix]`: copies the CAS's last completed snapshot out of pod
// NAME-0 (exec `tar -cf -`, src/backup PodSnapshotSource), stores it with its manifest (src/backup runBackup), reads
// the stored set back and verifies both files' sha256, and records it in the catalog of the state store.
// A run killed midway leaves a `running` catalog row; the owner file (owner.ts) lets the next run see that its
// process is gone and give the row up at once instead of waiting for the stale age.
import type { BackupTarget } from "../../backup/target.ts";
import type { BackupRecord } from "../../store/backups.ts";
import type { StoreDb } from "../../store/open.ts";
import { type CasId, casLabel, type DayTwoKube, type PodExec, readCas } from "../status/observe.ts";
import { type OwnerFile, ownerIsGone } from "./owner.ts";

export interface BackupFlowOptions extends CasId {
  readonly target: BackupTarget;
  readonly store: { db: StoreDb };
  readonly owner?: OwnerFile;
  readonly now?: () => number;
}

export interface BackupFlowPorts {
  readonly kube: DayTwoKube;
  readonly exec: PodExec;
}

export interface BackupFlowOutcome {
  readonly ok: boolean;
  readonly record?: BackupRecord;
  /** Problems the verification of the stored set found (empty when it verified). */
  readonly problems: readonly string[];
  readonly error?: string;
}

export class BackupRefusedError extends Error {
  override readonly name = "BackupRefusedError";
}

export async function runCasBackup(ports: BackupFlowPorts, options: BackupFlowOptions): Promise<BackupFlowOutcome> {
  const [backup, { setKey }] = await Promise.all([import("../../backup/index.ts"), import("../../backup/layout.ts")]);
  const cas = await readCas(ports.kube, options);
  if (!cas) throw new BackupRefusedError(`${casLabel(options)} does not exist`);
  const subject = backup.backupSubjectOf(cas);
  const source = new backup.PodSnapshotSource({ namespace: options.namespace, name: options.name, exec: ports.exec });
  const staleNow = options.owner ? await ownerIsGone(options.owner) : false;
  const release = await options.owner?.claim();
  let record: BackupRecord;
  try {
    record = await backup.runBackup({
      cas: subject,
      source,
      target: options.target,
      store: options.store,
      ...(options.now ? { now: options.now } : {}),
      ...(staleNow ? { staleAfterMs: 0 } : {}),
    });
  } finally {
    await release?.();
  }
  if (record.phase !== "completed") return { ok: false, record, problems: [], error: record.error ?? record.phase };
  const set = setKey({ namespace: record.namespace, name: record.name, id: record.id });
  const verified = await backup.verifyBackup(
    { target: options.target, set },
    { expected: { id: record.id, namespace: record.namespace, name: record.name, files: record.files } },
  );
  return verified.ok
    ? { ok: true, record, problems: [] }
    : {
        ok: false,
        record,
        problems: verified.problems,
        error: `the stored backup does not verify: ${verified.problems.join("; ")}`,
      };
}
