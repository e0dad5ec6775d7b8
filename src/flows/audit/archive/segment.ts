// One shipped segment of a CAS audit log: its bytes (the entries' lines as read, each followed by "\n", so the
// segments of a log concatenated are the log itself, verifiable by `scone cas verify-audit-log`) and its manifest
// (which entries, their sha256, the SCONE CLI's verdict). Pure: building and checking, no I/O.
import { createHash } from "node:crypto";

/** An entry as the shipper read it: where it sits in its log, and the line itself. */
export interface ShippedEntry {
  readonly seq: number;
  readonly time: string;
  readonly signature: string;
  readonly raw: string;
}

/** The SCONE CLI's verdict on the log through a segment's last entry (flows/audit/verify.ts). */
export interface SegmentVerification {
  readonly exitCode: number;
  readonly meaning: string | null;
  readonly correct: boolean;
  /**
   * `cas`: checked against the running CAS (`--cas`: its audit key and its chain at the segment's last seq);
   * `log-key`: offline, with the key the log announces at seq 0 — for a log whose pod is gone, whose CAS has moved
   * on to another log.
   */
  readonly against: "cas" | "log-key";
  /**
   * Whether a CAS vouched for the key the log was verified with: always for `cas`; for `log-key`, whether an earlier
   * segment of this log (the same seq-0 entry, so the same announced key) was verified against the CAS. An offline
   * verdict without it trusts a key only the log itself names.
   */
  readonly keyVouched: boolean;
  readonly by: string;
  /**
   * First seq of the text the CLI verified: 0, the log from its start; above 0, a window starting at the archived
   * entry just before the segment (a log past the bound of one verification, or read from its middle), where exit 15
   * (older entries missing) is what a window is and counts as correct when scone's own link check of the window also
   * passed (ship-log.ts). Absent in manifests written before windows: 0.
   */
  readonly from?: number;
}

export const SEGMENT_KIND = "scone-audit-segment";
export const SEGMENT_VERSION = 1;
/** Largest manifest read back (a real one is under 2 KiB). */
export const MAX_SEGMENT_MANIFEST_BYTES = 16 * 1024;

export interface SegmentManifest {
  readonly kind: typeof SEGMENT_KIND;
  readonly version: typeof SEGMENT_VERSION;
  readonly namespace: string;
  readonly name: string;
  readonly log: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly entries: number;
  readonly bytes: number;
  /** sha256 (hex) of the segment's .log object. */
  readonly sha256: string;
  readonly firstTime: string;
  readonly lastTime: string;
  readonly lastSignature: string;
  readonly verification: SegmentVerification;
  readonly shippedAt: string;
  readonly pod: { readonly name: string; readonly uid: string };
}

export const sha256Hex = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** The segment's bytes: deterministic in its entries, so two writers of one range write the same object. */
export function segmentBytes(entries: readonly ShippedEntry[]): Uint8Array {
  return new TextEncoder().encode(entries.map((e) => `${e.raw}\n`).join(""));
}

export interface SegmentInput {
  readonly cas: { readonly namespace: string; readonly name: string };
  readonly log: string;
  readonly entries: readonly ShippedEntry[];
  readonly verification: SegmentVerification;
  readonly shippedAt: Date;
  readonly pod: { readonly name: string; readonly uid: string };
}

/** The bytes and manifest of a segment; its entries must be consecutive (seq + 1 each). */
export function buildSegment(input: SegmentInput): { bytes: Uint8Array; manifest: SegmentManifest } {
  const first = input.entries[0];
  const last = input.entries.at(-1);
  if (!first || !last) throw new Error("a segment holds at least one entry");
  input.entries.forEach((e, i) => {
    if (e.seq !== first.seq + i) throw new Error(`segment entries are not consecutive at seq ${e.seq}`);
  });
  const bytes = segmentBytes(input.entries);
  return {
    bytes,
    manifest: {
      kind: SEGMENT_KIND,
      version: SEGMENT_VERSION,
      namespace: input.cas.namespace,
      name: input.cas.name,
      log: input.log,
      firstSeq: first.seq,
      lastSeq: last.seq,
      entries: input.entries.length,
      bytes: bytes.length,
      sha256: sha256Hex(bytes),
      firstTime: first.time,
      lastTime: last.time,
      lastSignature: last.signature,
      verification: input.verification,
      shippedAt: input.shippedAt.toISOString(),
      pod: input.pod,
    },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a manifest read back and checks it names the segment it was found as. */
export function parseSegmentManifest(
  text: string,
  expect: { namespace: string; name: string; log: string; first: number; last: number },
): SegmentManifest | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "manifest is not JSON";
  }
  if (!isObject(value) || value.kind !== SEGMENT_KIND || value.version !== SEGMENT_VERSION)
    return `manifest is not a ${SEGMENT_KIND} v${SEGMENT_VERSION}`;
  const m = value as unknown as SegmentManifest;
  if (m.namespace !== expect.namespace || m.name !== expect.name || m.log !== expect.log)
    return "manifest names another CAS or log than its key";
  if (m.firstSeq !== expect.first || m.lastSeq !== expect.last) return "manifest names other seqs than its key";
  if (m.entries !== m.lastSeq - m.firstSeq + 1) return "manifest entry count does not match its seqs";
  if (typeof m.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(m.sha256)) return "manifest sha256 is not 64 hex";
  if (!isObject(m.verification) || typeof m.verification.correct !== "boolean") return "manifest has no verification";
  return m;
}

/** Checks a segment's bytes against its manifest; returns the lines, or why they are refused. */
export function checkSegmentBytes(bytes: Uint8Array, manifest: SegmentManifest): string[] | string {
  if (bytes.length !== manifest.bytes) return `size ${bytes.length} is not the manifest's ${manifest.bytes}`;
  if (sha256Hex(bytes) !== manifest.sha256) return "sha256 does not match the manifest";
  const lines = new TextDecoder().decode(bytes).split("\n");
  if (lines.pop() !== "") return "the last line is not terminated";
  if (lines.length !== manifest.entries) return `${lines.length} lines, the manifest says ${manifest.entries}`;
  return lines;
}
