// The audit index (SQLite, a cache) rebuilt from the archive, when it is missing: a fresh operator pod, a second
// replica or a laptop search the same entries the shipper archived. Each segment's digest is checked (archive.ts);
// the index's own link hint (chainOk) is computed as a read of the log computes it (chain.ts).
import type { BackupTarget } from "../../../backup/target.ts";
import { type AuditEntryInput, auditHead, indexAuditText, ingestEntries } from "../../../store/audit.ts";
import type { StoreDb } from "../../../store/open.ts";
import { AuditChain } from "../chain.ts";
import { indexLookups, toIndexEntry } from "../flow.ts";
import { type ReadProblem, readArchive } from "./archive.ts";
import type { ArchiveCas } from "./layout.ts";

export interface RebuildResult {
  readonly segments: number;
  readonly entries: number;
  readonly inserted: number;
  readonly problems: readonly ReadProblem[];
}

/** Whether the index holds nothing of this CAS (then `scone cas audit --search` rebuilds it from the archive). */
export function indexMissing(db: StoreDb, cas: ArchiveCas): boolean {
  return auditHead(db, cas) === null;
}

export async function rebuildAuditIndex(db: StoreDb, target: BackupTarget, cas: ArchiveCas): Promise<RebuildResult> {
  const lookups = indexLookups(db, cas);
  let chain: AuditChain | undefined;
  let log = "";
  let entries = 0;
  let inserted = 0;
  const read = await readArchive(target, cas, async ({ manifest, lines }) => {
    if (manifest.log !== log) {
      log = manifest.log;
      chain = new AuditChain(lookups);
    }
    const batch: AuditEntryInput[] = [];
    for (const raw of lines) {
      const checked = await (chain as AuditChain).check(raw);
      if (checked.kind !== "entry") continue;
      batch.push(toIndexEntry(cas, log, checked));
    }
    entries += batch.length;
    inserted += ingestEntries(db, batch).inserted;
  });
  indexAuditText(db);
  return { segments: read.segments, entries, inserted, problems: read.problems };
}
