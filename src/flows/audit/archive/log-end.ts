// The end record of an archived log: written when a shipper saw the log's pod go and archived what it had read
// (complete), or — when a shipper starts on a CAS's new log and finds an earlier log without one — that the earlier
// log's pod went while no shipper followed it, so whatever it wrote after the archive's last entry is lost with its
// emptyDir (not complete). The second kind is how a gap at a log's end is reported once and stays on record. Pure.
import type { ListedSegment } from "./layout.ts";
import { coverageOf } from "./plan.ts";

export const LOG_END_KIND = "scone-audit-log-end";

export interface LogEnd {
  readonly kind: typeof LOG_END_KIND;
  readonly version: 1;
  readonly namespace: string;
  readonly name: string;
  readonly log: string;
  /** The log's last archived seq (-1: none). */
  readonly lastSeq: number;
  /** true: archived through the end its shipper read; false: entries after lastSeq, if any, are lost. */
  readonly complete: boolean;
  readonly at: string;
  readonly note: string;
}

export interface UnendedLog {
  readonly log: string;
  readonly through: number;
}

/** Logs other than `current` with archived entries and no end record: their pods went while no shipper ran. */
export function unendedLogs(
  listed: readonly ListedSegment[],
  ended: ReadonlySet<string>,
  current: string,
): UnendedLog[] {
  const logs = new Set(listed.filter((s) => s.hasEntries && s.hasManifest).map((s) => s.log));
  return [...logs]
    .filter((log) => log !== current && !ended.has(log))
    .map((log) => ({ log, through: coverageOf(listed, log).through }));
}
