// Where a log read from its middle belongs: the kubelet rotates a container's log file, and `kubectl logs -f` serves
// only the newest one, so a shipper that starts after a rotation reads the audit log from seq N > 0. It continues an
// archived log when the archive holds that log's entry N-1 and it is the one the first entry read names as its
// predecessor (same signature); then the entries before N are archived already and nothing is lost. Otherwise
// undefined: what lies between the archive's end and N is neither readable nor archived, and N's log is unknown.
import type { BackupTarget } from "../../../backup/target.ts";
import { announcedKeyOf, entryOf } from "../chain.ts";
import { listArchive, readSegment } from "./archive.ts";
import type { ArchiveCas, ListedSegment } from "./layout.ts";

export interface ContinuedLog {
  /** The archived log the read continues (its seq-0 signature). */
  readonly log: string;
  /** Its archived entry just before the read's first: the anchor a window is verified from. */
  readonly anchor: { readonly seq: number; readonly signature: string; readonly raw: string };
  /** The audit key that log announced (from its archived seq-0 segment), if the archive has it. */
  readonly key: string | undefined;
}

export async function findContinuedLog(
  target: BackupTarget,
  cas: ArchiveCas,
  first: { readonly seq: number; readonly prev_signature: string | null },
): Promise<ContinuedLog | undefined> {
  const before = first.seq - 1;
  if (before < 0 || first.prev_signature === null) return undefined;
  const listed = (await listArchive(target, cas)).filter((s) => s.hasEntries && s.hasManifest);
  for (const s of listed.filter((c) => c.first <= before && before <= c.last)) {
    const read = await readSegment(target, cas, s);
    if (typeof read === "string") continue;
    const raw = read.lines[before - s.first];
    const entry = raw === undefined ? undefined : entryOf(raw);
    if (raw === undefined || entry?.seq !== before || entry.signature !== first.prev_signature) continue;
    return {
      log: s.log,
      anchor: { seq: before, signature: entry.signature, raw },
      key: await keyOf(target, cas, listed, s.log),
    };
  }
  return undefined;
}

async function keyOf(
  target: BackupTarget,
  cas: ArchiveCas,
  listed: readonly ListedSegment[],
  log: string,
): Promise<string | undefined> {
  const head = listed.find((s) => s.log === log && s.first === 0);
  const read = head ? await readSegment(target, cas, head) : undefined;
  if (read === undefined || typeof read === "string") return undefined;
  for (const raw of read.lines) {
    const entry = entryOf(raw);
    const key = entry ? announcedKeyOf(entry) : undefined;
    if (key !== undefined) return key;
  }
  return undefined;
}
