// What a backup run and the audit shipper leave on a target, written directly: one backup set (data files, then its
// backup.json) and an audit log archived in two segments. For tests of readers that refill caches from targets.
import { describeFiles, MANIFEST_FORMAT, serializeManifest } from "../../src/backup/manifest.ts";
import type { BackupTarget } from "../../src/backup/target.ts";
import { writeSegment } from "../../src/flows/audit/archive/archive.ts";
import { buildSegment } from "../../src/flows/audit/archive/segment.ts";
import { newId } from "../../src/store/ids.ts";
import { signedEntries } from "../harness/signed-audit-log.ts";

export interface CasRef {
  readonly namespace: string;
  readonly name: string;
}

/** One completed backup set of `cas` started at `at`; returns its id. */
export async function writeBackupSet(target: BackupTarget, cas: CasRef, at: number): Promise<string> {
  const db = new TextEncoder().encode("database");
  const keys = new TextEncoder().encode("keys");
  const id = newId("bk", at);
  const set = `${cas.namespace}/${cas.name}/${id}`;
  await target.put(`${set}/cas.db`, db);
  await target.put(`${set}/cas.key-store`, keys);
  const manifest = {
    format: MANIFEST_FORMAT,
    id,
    cas: { ...cas, version: "6.0.6" },
    snapshot: { marker: "m", timestamp: null },
    created: new Date(at + 1000).toISOString(),
    started: new Date(at).toISOString(),
    scone: { version: "test" },
    files: describeFiles({ "cas.db": db, "cas.key-store": keys }),
  } as const;
  await target.put(`${set}/backup.json`, new TextEncoder().encode(serializeManifest(manifest)));
  return id;
}

/** A signed log of `count` entries (≥ 2) archived as two verified segments; returns the log's name. */
export async function writeAuditArchive(target: BackupTarget, cas: CasRef, count: number): Promise<string> {
  const entries = await signedEntries(count);
  const log = entries[0]?.signature as string;
  const half = Math.floor(count / 2);
  for (const part of [entries.slice(0, half), entries.slice(half)])
    await writeSegment(
      target,
      cas,
      buildSegment({
        cas,
        log,
        entries: part,
        verification: {
          exitCode: 0,
          meaning: "fully correct",
          correct: true,
          against: "cas",
          keyVouched: true,
          by: "test",
        },
        shippedAt: new Date(0),
        pod: { name: `${cas.name}-0`, uid: "u1" },
      }),
    );
  return log;
}
