// CAS audit log: the line schema and the chain verifier (`scone cas audit` verifies; the simulator writes).
// SCONE documents the properties (one JSON entry per line, strictly increasing sequence number, each signature chained
// over the previous one) but not the field names; this schema is OURS:
//   {"seq":N,"time":"<ISO 8601>","event":"<name>","details":{…},"prev_signature":"<hex>"|null,"signature":"<hex>"}
// signature = Ed25519(audit key, canonicalJson({seq,time,event,details,prev_signature})), 128 hex.
// The first entry of a log is `audit_log_enabled` carrying the audit public key. (Anchoring the key in a CAS-signed
// attestation report, and writing entries, went with the old REST client: test/support/cas-legacy.)
import { nestsDeeperThan } from "../runtime/json-depth.ts";
import { canonicalJson, ed25519Verify, fromHex } from "./crypto.ts";

export interface AuditEntry {
  readonly seq: number;
  readonly time: string;
  readonly event: string;
  readonly details: Record<string, unknown>;
  readonly prev_signature: string | null;
  readonly signature: string;
}

export type UnsignedAuditEntry = Omit<AuditEntry, "signature">;

export function auditSigningPayload(entry: UnsignedAuditEntry): string {
  return canonicalJson({
    seq: entry.seq,
    time: entry.time,
    event: entry.event,
    details: entry.details,
    prev_signature: entry.prev_signature,
  });
}

/** How deeply `details` may nest: signing walks it recursively (canonicalJson). CAS details nest 3–4 levels. */
export const MAX_DETAILS_DEPTH = 64;
const AUDIT_KEY_HEX = /^[0-9a-fA-F]{64}$/;
const BAD_AUDIT_KEY = "expected 64 hex characters (an Ed25519 public key)";
const SIGNATURE_HEX = /^[0-9a-f]{128}$/;
const BAD_SIGNATURE = "expected 128 lower-case hex characters (an Ed25519 signature)";
const isSignatureHex = (value: unknown): value is string => typeof value === "string" && SIGNATURE_HEX.test(value);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Shape check of one log line; returns the reason when it is not an entry. */
export function parseAuditLine(line: string): AuditEntry | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "not JSON";
  }
  if (!isRecord(value)) return "not a JSON object";
  if (typeof value.seq !== "number" || !Number.isSafeInteger(value.seq) || value.seq < 0) return "seq: not an integer";
  if (typeof value.time !== "string") return "time: missing";
  if (typeof value.event !== "string" || value.event === "") return "event: missing";
  if (!isRecord(value.details)) return "details: not an object";
  if (nestsDeeperThan(value.details, MAX_DETAILS_DEPTH))
    return `details: nested deeper than ${MAX_DETAILS_DEPTH} levels`;
  // One spelling per signature (lower-case hex, as signed): entries are linked and indexed by these strings, so
  // an upper-case copy of a signature would verify yet name another entry.
  if (value.prev_signature !== null && !isSignatureHex(value.prev_signature)) return `prev_signature: ${BAD_SIGNATURE}`;
  if (!isSignatureHex(value.signature)) return `signature: ${BAD_SIGNATURE}`;
  return {
    seq: value.seq,
    time: value.time,
    event: value.event,
    details: value.details,
    prev_signature: value.prev_signature,
    signature: value.signature,
  };
}

export interface AuditVerifyOptions {
  /** Audit public key (64 hex). Without it, the key announced by the log's `audit_log_enabled` entry is used. */
  readonly auditPublicKey?: string;
  /** Signature the first entry must chain to (verifying a log that continues an earlier, already checked one). */
  readonly predecessor?: string;
  /** Signature the last entry must carry (detects a truncated tail). */
  readonly last?: string;
}

export type AuditVerifyResult =
  | {
      readonly ok: true;
      readonly entries: number;
      readonly firstSeq: number | undefined;
      readonly lastSeq: number | undefined;
      readonly lastSignature: string | undefined;
    }
  | { readonly ok: false; readonly line: number; readonly reason: string };

function fail(line: number, reason: string): AuditVerifyResult {
  return { ok: false, line, reason };
}

/** Splits a log file's text into non-empty lines, keeping 1-based line numbers. */
export function auditLines(text: string): { line: number; text: string }[] {
  return text
    .split("\n")
    .map((t, i) => ({ line: i + 1, text: t.trim() }))
    .filter((l) => l.text !== "");
}

/**
 * Verifies a whole log: every line well-formed, seq +1 each time, prev_signature = the previous line's signature,
 * every signature valid. Any edit, deletion, insertion or reordering breaks one of these and is reported with its line.
 */
export async function verifyAuditLog(text: string, opts: AuditVerifyOptions = {}): Promise<AuditVerifyResult> {
  const lines = auditLines(text);
  if (opts.auditPublicKey !== undefined && !AUDIT_KEY_HEX.test(opts.auditPublicKey)) {
    return fail(lines[0]?.line ?? 0, `audit public key: ${BAD_AUDIT_KEY}`);
  }
  let key: Uint8Array | undefined = opts.auditPublicKey ? fromHex(opts.auditPublicKey, "audit public key") : undefined;
  let previous: AuditEntry | undefined;
  let firstSeq: number | undefined;
  for (const { line, text: raw } of lines) {
    const entry = parseAuditLine(raw);
    if (typeof entry === "string") return fail(line, entry);
    if (previous === undefined) {
      firstSeq = entry.seq;
      const expectedPrev = opts.predecessor ?? null;
      if (entry.prev_signature !== expectedPrev) {
        return fail(
          line,
          opts.predecessor === undefined
            ? "first entry chains to an earlier entry; pass the predecessor signature to verify a continued log"
            : "first entry does not chain to the given predecessor signature",
        );
      }
    } else {
      if (entry.seq !== previous.seq + 1) return fail(line, `seq ${entry.seq} follows ${previous.seq} (expected +1)`);
      if (entry.prev_signature !== previous.signature)
        return fail(line, "prev_signature is not the previous signature");
    }
    if (key === undefined) {
      const announced = entry.details.audit_public_key;
      if (entry.event !== "audit_log_enabled" || typeof announced !== "string") {
        return fail(line, "no audit public key: the log does not start with audit_log_enabled; pass the key");
      }
      if (!AUDIT_KEY_HEX.test(announced)) return fail(line, `audit_public_key: ${BAD_AUDIT_KEY}`);
      key = fromHex(announced, "audit_public_key");
    }
    if (!(await ed25519Verify(key, auditSigningPayload(entry), entry.signature))) {
      return fail(line, "signature does not verify (entry altered, or signed by another key)");
    }
    previous = entry;
  }
  if (opts.last !== undefined && previous?.signature !== opts.last) {
    return fail(lines[lines.length - 1]?.line ?? 0, "last entry is not the expected one (log truncated?)");
  }
  return {
    ok: true,
    entries: lines.length,
    firstSeq,
    lastSeq: previous?.seq,
    lastSignature: previous?.signature,
  };
}
