// The shipper's decisions, pure: where to resume (from the archive's listing, not from local state), which entries
// of a log read again are already shipped, and when pending entries become a segment.
//
// Resume rule: a segment is shipped when both its .log and its .json (written last) are listed. Every entry of the
// log not inside a shipped segment is shipped again — a new shipper (operator restart, leader change) reads the pod's
// log from its start and skips exactly the shipped ranges; a .log without its manifest (a writer stopped between
// the two PUTs) counts for nothing and is replaced.
import type { ListedSegment, SegmentRange } from "./layout.ts";
import type { ShippedEntry } from "./segment.ts";

export interface ArchiveCoverage {
  /** Shipped ranges of the log, merged, ascending. */
  readonly shipped: readonly SegmentRange[];
  /** The last shipped seq, -1 when nothing is. */
  readonly through: number;
  /** Halves of segments without the other half (interrupted writes): to remove before writing that range again. */
  readonly incomplete: readonly ListedSegment[];
}

export function coverageOf(listed: readonly ListedSegment[], log: string): ArchiveCoverage {
  const mine = listed.filter((s) => s.log === log);
  const complete = mine.filter((s) => s.hasEntries && s.hasManifest).sort((a, b) => a.first - b.first);
  const shipped: SegmentRange[] = [];
  for (const s of complete) {
    const prev = shipped.at(-1);
    if (prev && s.first <= prev.last + 1)
      shipped[shipped.length - 1] = { first: prev.first, last: Math.max(prev.last, s.last) };
    else shipped.push({ first: s.first, last: s.last });
  }
  return {
    shipped,
    through: shipped.at(-1)?.last ?? -1,
    incomplete: mine.filter((s) => !(s.hasEntries && s.hasManifest)),
  };
}

export function isShipped(coverage: ArchiveCoverage, seq: number): boolean {
  return coverage.shipped.some((r) => seq >= r.first && seq <= r.last);
}

/** Adds a range just written. */
export function withShipped(coverage: ArchiveCoverage, range: SegmentRange): ArchiveCoverage {
  const listed: ListedSegment[] = coverage.shipped.map((r) => ({ ...r, log: "", hasEntries: true, hasManifest: true }));
  listed.push({ ...range, log: "", hasEntries: true, hasManifest: true });
  return { ...coverageOf(listed, ""), incomplete: coverage.incomplete };
}

/** Overlapping shipped segments (two writers racing at a leader change): for reports; readers keep one copy. */
export function overlapsOf(listed: readonly ListedSegment[], log: string): SegmentRange[] {
  const complete = listed.filter((s) => s.log === log && s.hasEntries && s.hasManifest);
  const out: SegmentRange[] = [];
  for (let i = 1; i < complete.length; i++) {
    const a = complete[i - 1] as ListedSegment;
    const b = complete[i] as ListedSegment;
    if (b.first <= a.last) out.push({ first: b.first, last: Math.min(a.last, b.last) });
  }
  return out;
}

export interface PendingEntry extends ShippedEntry {
  /** When the shipper read it (ms): the lag of the oldest pending entry is the shipping lag. */
  readonly readAtMs: number;
}

export interface SegmentPolicy {
  /** Cut at this many entries. */
  readonly maxEntries: number;
  /** Cut at this many bytes of lines. */
  readonly maxBytes: number;
  /** Cut when the oldest pending entry waited this long (the lag bound while the log is quiet). */
  readonly maxAgeMs: number;
}

export const DEFAULT_SEGMENT_POLICY: SegmentPolicy = { maxEntries: 1000, maxBytes: 1024 * 1024, maxAgeMs: 5_000 };

/**
 * How many of the pending entries (in seq order) form the next segment, 0 for none yet. A segment holds consecutive
 * seqs only (a jump in the log ends it: the next one starts after the jump and the CLI's verdict names the gap);
 * `final`: the log has ended (its pod is gone), everything pending goes.
 */
export function nextCut(
  pending: readonly PendingEntry[],
  policy: SegmentPolicy,
  nowMs: number,
  final: boolean,
): number {
  const first = pending[0];
  if (!first) return 0;
  let count = 0;
  let bytes = 0;
  for (const e of pending) {
    if (e.seq !== first.seq + count) return count; // a jump: cut before it
    if (count >= policy.maxEntries) return count;
    const size = e.raw.length + 1;
    if (count > 0 && bytes + size > policy.maxBytes) return count;
    count++;
    bytes += size;
  }
  if (final || count >= policy.maxEntries || bytes >= policy.maxBytes) return count;
  return nowMs - first.readAtMs >= policy.maxAgeMs ? count : 0;
}

/** Seconds the oldest pending entry has waited (0 when nothing is pending): the shipping lag. */
export function lagSeconds(pending: readonly PendingEntry[], nowMs: number): number {
  const first = pending[0];
  return first ? Math.max(0, (nowMs - first.readAtMs) / 1000) : 0;
}
