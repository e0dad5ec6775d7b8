// The archive's thin I/O over a BackupTarget (directory, PVC or S3): list a CAS's segments, write one (entries, then
// manifest), remove the halves of interrupted writes, read shipped segments back with their digests checked. Keys
// come from layout.ts only (checked before any I/O).
import type { BackupTarget } from "../../../backup/target.ts";
import {
  type ArchiveCas,
  casPrefix,
  type ListedSegment,
  logEndKey,
  parseListing,
  parseLogEnds,
  segmentKeys,
} from "./layout.ts";
import type { LogEnd } from "./log-end.ts";
import {
  checkSegmentBytes,
  MAX_SEGMENT_MANIFEST_BYTES,
  parseSegmentManifest,
  type SegmentManifest,
} from "./segment.ts";

export async function listArchive(target: BackupTarget, cas: ArchiveCas): Promise<ListedSegment[]> {
  return parseListing(cas, await target.list(casPrefix(cas)));
}

/** The segments and the logs with an end record (log-end.ts), from one listing. */
export async function listArchiveAndEnds(
  target: BackupTarget,
  cas: ArchiveCas,
): Promise<{ segments: ListedSegment[]; ended: Set<string> }> {
  const keys = await target.list(casPrefix(cas));
  return { segments: parseListing(cas, keys), ended: parseLogEnds(cas, keys) };
}

export async function writeLogEnd(target: BackupTarget, cas: ArchiveCas, end: LogEnd): Promise<void> {
  await target.put(logEndKey(cas, end.log), new TextEncoder().encode(`${JSON.stringify(end)}\n`));
}

/** Writes a segment: the entries first, the manifest last (a segment counts as shipped once its manifest is there). */
export async function writeSegment(
  target: BackupTarget,
  cas: ArchiveCas,
  segment: { bytes: Uint8Array; manifest: SegmentManifest },
): Promise<void> {
  const keys = segmentKeys(cas, segment.manifest.log, {
    first: segment.manifest.firstSeq,
    last: segment.manifest.lastSeq,
  });
  await target.put(keys.entries, segment.bytes);
  await target.put(keys.manifest, new TextEncoder().encode(`${JSON.stringify(segment.manifest)}\n`));
}

/** Removes both halves of segments whose write was interrupted (the manifest first, as a backup set's). */
export async function removeIncomplete(
  target: BackupTarget,
  cas: ArchiveCas,
  segments: readonly ListedSegment[],
): Promise<void> {
  for (const s of segments) {
    const keys = segmentKeys(cas, s.log, s);
    await target.delete(keys.manifest);
    await target.delete(keys.entries);
  }
}

/** The manifest of one listed segment, checked against its key; a reason when it cannot be read. */
export async function readManifest(
  target: BackupTarget,
  cas: ArchiveCas,
  s: Pick<ListedSegment, "log" | "first" | "last">,
): Promise<SegmentManifest | string> {
  const keys = segmentKeys(cas, s.log, s);
  const bytes = await target.get(keys.manifest, MAX_SEGMENT_MANIFEST_BYTES + 1);
  if (!bytes || bytes.length > MAX_SEGMENT_MANIFEST_BYTES) return "manifest missing or too large";
  return parseSegmentManifest(new TextDecoder().decode(bytes), {
    namespace: cas.namespace,
    name: cas.name,
    log: s.log,
    first: s.first,
    last: s.last,
  });
}

export interface ReadSegment {
  readonly manifest: SegmentManifest;
  /** The entries' lines, digest checked. */
  readonly lines: readonly string[];
}

export interface ReadProblem {
  readonly log: string;
  readonly first: number;
  readonly last: number;
  readonly problem: string;
}

/** One shipped segment, its manifest and digest checked; why not, when it cannot be read. */
export async function readSegment(
  target: BackupTarget,
  cas: ArchiveCas,
  s: Pick<ListedSegment, "log" | "first" | "last">,
): Promise<ReadSegment | string> {
  const manifest = await readManifest(target, cas, s);
  if (typeof manifest === "string") return manifest;
  const bytes = await target.get(segmentKeys(cas, s.log, s).entries, manifest.bytes + 1);
  if (!bytes) return "entries missing";
  const lines = checkSegmentBytes(bytes, manifest);
  return typeof lines === "string" ? lines : { manifest, lines };
}

/**
 * Every shipped segment of a CAS, per log in seq order, each read once: a segment overlapping one already read
 * (a leader change raced) contributes only its entries past it. A segment that fails its digest or manifest check
 * is reported, never returned.
 */
export async function readArchive(
  target: BackupTarget,
  cas: ArchiveCas,
  onSegment: (segment: ReadSegment) => void | Promise<void>,
): Promise<{ segments: number; problems: ReadProblem[] }> {
  const listed = (await listArchive(target, cas)).filter((s) => s.hasEntries && s.hasManifest);
  const problems: ReadProblem[] = [];
  let segments = 0;
  let log = "";
  let through = -1;
  for (const s of listed) {
    if (s.log !== log) {
      log = s.log;
      through = -1;
    }
    if (s.last <= through) continue;
    const read = await readSegment(target, cas, s);
    if (typeof read === "string") {
      problems.push({ log: s.log, first: s.first, last: s.last, problem: read });
      continue;
    }
    const skip = Math.max(0, through - s.first + 1);
    await onSegment({ manifest: read.manifest, lines: read.lines.slice(skip) });
    segments++;
    through = s.last;
  }
  return { segments, problems };
}
