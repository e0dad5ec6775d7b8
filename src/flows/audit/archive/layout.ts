// Where shipped audit-log segments live in a backup target (directory or S3), and how their keys are read back.
// Pure: no I/O. Every key is built from checked parts and checked again as a whole (backup/layout.ts checkKey)
// before any target sees it; a listed key that does not match the layout exactly is ignored, never opened.
//
//   _audit/<namespace>/<cas>/<log>/<first>-<last>.log    the entries, as read (one line each, "\n" after each)
//   _audit/<namespace>/<cas>/<log>/<first>-<last>.json   the segment's manifest (segment.ts), written after the .log
//   _audit/<namespace>/<cas>/<log>.end.json              how far the log is known archived once its pod is gone
//                                                         (log-end.ts); beside the log's folder, not in it
//
// <log> names one audit log of the CAS: the signature of its seq-0 entry (flows/audit/log-identity.ts: a CAS pod's
// log starts at seq 0, its volume being an emptyDir); <first>/<last> are the seqs, 12 digits, so a listing sorts them.
// `_audit` cannot be a namespace (no "_" in DNS labels): the backup listing (backup/list.ts) never takes it for a set.
import { AUDIT_ARCHIVE_ROOT, checkKey } from "../../../backup/layout.ts";

export { AUDIT_ARCHIVE_ROOT };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** CAS names are DNS-1123 subdomains (their StatefulSet and Service take the name). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LOG_ID = /^[0-9a-f]{128}$/;
const SEQ_DIGITS = 12;
const MAX_SEQ = 10 ** SEQ_DIGITS - 1;
const SEGMENT_FILE = /^(\d{12})-(\d{12})\.(log|json)$/;
const END_FILE = /^([0-9a-f]{128})\.end\.json$/;

export class AuditArchiveKeyError extends Error {
  override readonly name = "AuditArchiveKeyError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ArchiveCas {
  readonly namespace: string;
  readonly name: string;
}

export interface SegmentRange {
  readonly first: number;
  readonly last: number;
}

function checkCas(cas: ArchiveCas): void {
  if (!DNS_LABEL.test(cas.namespace))
    throw new AuditArchiveKeyError("namespace", `namespace ${JSON.stringify(cas.namespace)} is not a DNS label`);
  if (!DNS_SUBDOMAIN.test(cas.name) || cas.name.includes(".."))
    throw new AuditArchiveKeyError("name", `CAS name ${JSON.stringify(cas.name)} is not a DNS subdomain`);
}

function checkLog(log: string): void {
  if (!LOG_ID.test(log))
    throw new AuditArchiveKeyError("log", "an audit log is named by a signature: 128 lower-case hex characters");
}

function checkRange(r: SegmentRange): void {
  for (const [field, seq] of [
    ["first", r.first],
    ["last", r.last],
  ] as const) {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ)
      throw new AuditArchiveKeyError(field, `segment ${field} seq ${seq} is not a whole number 0..${MAX_SEQ}`);
  }
  if (r.last < r.first)
    throw new AuditArchiveKeyError("last", `segment ends (${r.last}) before it starts (${r.first})`);
}

/** The archive of one CAS (prefix of all its logs). */
export function casPrefix(cas: ArchiveCas): string {
  checkCas(cas);
  return checkKey(`${AUDIT_ARCHIVE_ROOT}/${cas.namespace}/${cas.name}`);
}

/** The folder of one log of a CAS. */
export function logPrefix(cas: ArchiveCas, log: string): string {
  checkLog(log);
  return checkKey(`${casPrefix(cas)}/${log}`);
}

const pad = (n: number) => String(n).padStart(SEQ_DIGITS, "0");

export function segmentKeys(cas: ArchiveCas, log: string, range: SegmentRange): { entries: string; manifest: string } {
  checkRange(range);
  const base = `${logPrefix(cas, log)}/${pad(range.first)}-${pad(range.last)}`;
  return { entries: checkKey(`${base}.log`), manifest: checkKey(`${base}.json`) };
}

export interface ListedSegment extends SegmentRange {
  readonly log: string;
  /** Both halves present: the entries and the manifest (written last). */
  readonly hasEntries: boolean;
  readonly hasManifest: boolean;
}

/**
 * The segments of a CAS's archive from a target listing of casPrefix(cas) (keys relative to the target root).
 * Keys outside the layout are ignored. Sorted by log, then first seq.
 */
export function parseListing(cas: ArchiveCas, keys: readonly string[]): ListedSegment[] {
  const prefix = `${casPrefix(cas)}/`;
  const found = new Map<string, { log: string; first: number; last: number; entries: boolean; manifest: boolean }>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const parts = key.slice(prefix.length).split("/");
    if (parts.length !== 2) continue;
    const [log, file] = parts as [string, string];
    const m = SEGMENT_FILE.exec(file);
    if (!LOG_ID.test(log) || !m) continue;
    const first = Number(m[1]);
    const last = Number(m[2]);
    if (last < first) continue;
    const id = `${log}/${first}-${last}`;
    const seg = found.get(id) ?? { log, first, last, entries: false, manifest: false };
    if (m[3] === "log") seg.entries = true;
    else seg.manifest = true;
    found.set(id, seg);
  }
  return [...found.values()]
    .map((s) => ({ log: s.log, first: s.first, last: s.last, hasEntries: s.entries, hasManifest: s.manifest }))
    .sort((a, b) => (a.log < b.log ? -1 : a.log > b.log ? 1 : a.first - b.first || a.last - b.last));
}

/** The end record of a log (log-end.ts). */
export function logEndKey(cas: ArchiveCas, log: string): string {
  checkLog(log);
  return checkKey(`${casPrefix(cas)}/${log}.end.json`);
}

/** The logs of a CAS that have an end record, from the same listing as parseListing. */
export function parseLogEnds(cas: ArchiveCas, keys: readonly string[]): Set<string> {
  const prefix = `${casPrefix(cas)}/`;
  const out = new Set<string>();
  for (const key of keys) {
    const m = key.startsWith(prefix) ? END_FILE.exec(key.slice(prefix.length)) : null;
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}
