// Test support: the audit-log side src/ no longer needs (it only reads logs for its index, src/cas/audit.ts) — writing
// entries in scone's own line schema, and anchoring a log's audit key in the CAS-signed attestation report an
// `audit_log_attestation_report` entry carries (the old client's report format, test/support/cas-legacy/attestation.ts).
import {
  type AuditEntry,
  type AuditVerifyOptions,
  auditLines,
  auditSigningPayload,
  parseAuditLine,
  type UnsignedAuditEntry,
  verifyAuditLog,
} from "../../../src/cas/audit.ts";
import { parseSignedReport, verifyReport } from "./attestation.ts";
import { type Ed25519KeyPair, ed25519Sign } from "./crypto.ts";

export async function signAuditEntry(entry: UnsignedAuditEntry, key: Ed25519KeyPair): Promise<AuditEntry> {
  return { ...entry, signature: await ed25519Sign(key, auditSigningPayload(entry)) };
}

export type AnchoredVerifyResult =
  | { readonly ok: true; readonly entries: number; readonly firstSeq: number | undefined; readonly anchored: true }
  | { readonly ok: false; readonly line: number; readonly reason: string };

/** verifyAuditLog, and an attestation report signed by `casKeyHash`'s CAS must name the log's audit key. */
export async function verifyAnchoredAuditLog(
  text: string,
  casKeyHash: string,
  opts: AuditVerifyOptions = {},
): Promise<AnchoredVerifyResult> {
  const chain = await verifyAuditLog(text, opts);
  if (!chain.ok) return chain;
  const lines = auditLines(text);
  let key = opts.auditPublicKey?.toLowerCase();
  for (const { line, text: raw } of lines) {
    const entry = parseAuditLine(raw);
    if (typeof entry === "string") return { ok: false, line, reason: entry };
    const announced = entry.details.audit_public_key;
    if (key === undefined && entry.event === "audit_log_enabled" && typeof announced === "string")
      key = announced.toLowerCase();
    if (entry.event !== "audit_log_attestation_report") continue;
    try {
      const signed = parseSignedReport(entry.details.report);
      const report = await verifyReport(signed, { nonce: signed.report.nonce, casKeyHash });
      if (report.audit_public_key.toLowerCase() !== key)
        return { ok: false, line, reason: "attestation report names a different audit key" };
      return { ok: true, entries: chain.entries, firstSeq: chain.firstSeq, anchored: true };
    } catch (err) {
      return { ok: false, line, reason: err instanceof Error ? err.message : String(err) };
    }
  }
  return {
    ok: false,
    line: lines.at(-1)?.line ?? 0,
    reason: "no audit_log_attestation_report from the expected CAS key",
  };
}
