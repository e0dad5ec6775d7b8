// Checks an audit log entry by entry as it streams in (`scone cas audit -f`), with src/cas/audit.ts's verifier: each
// entry must follow the previous one (seq + 1, prev_signature) and carry a valid signature of the audit key. The key
// comes from the log's `audit_log_enabled` entry, or — for a log that continues an indexed one (a restarted pod) — from
// the index, like the predecessor signature. A break is reported for its entry; the entries after it are checked
// against it, so one altered line is one break, not a broken tail.
// [inferred] The line schema and signature scheme are scone's own: SCONE does not publish them (SCONE-INTERFACE
// §12.4, §14). So this check only annotates the index (chainOk) for search and claims no verdict: the verdict is
// the SCONE CLI's `cas verify-audit-log` (verify.ts; table.ts audit-chain-local, audit-verify).
import { type AuditEntry, parseAuditLine, verifyAuditLog } from "../../cas/audit.ts";

export interface ChainLookups {
  /**
   * Signature of the indexed entry `seq` of this CAS, if indexed: the one equal to `expected` when several logs
   * reached that seq (a restarted pod's log overlaps the old one), else any.
   */
  signatureOf(seq: number, expected?: string): string | undefined;
  /** The audit public key announced in the index (latest audit_log_enabled), if any. */
  auditKey(): string | undefined;
}

export type CheckedLine =
  | {
      readonly kind: "entry";
      readonly entry: AuditEntry;
      readonly raw: string;
      readonly ok: boolean;
      readonly problem?: string;
    }
  /** A line that is not JSON at all (container noise); not part of the chain. */
  | { readonly kind: "other"; readonly raw: string }
  /** JSON that is not an entry: a break the next entry is checked past. */
  | { readonly kind: "malformed"; readonly raw: string; readonly problem: string };

export type { AuditEntry };

/**
 * One log line as an entry (seq, time, signature: what the archive needs to place it), or undefined for any other
 * line. The schema stays in this module and src/cas/audit.ts (table.ts audit-chain-local).
 */
export function entryOf(rawLine: string): AuditEntry | undefined {
  const parsed = parseAuditLine(rawLine.trim());
  return typeof parsed === "string" ? undefined : parsed;
}

export class AuditChain {
  private key: string | undefined;
  private last: { seq: number; signature: string } | undefined;

  constructor(private readonly lookups: ChainLookups = { signatureOf: () => undefined, auditKey: () => undefined }) {}

  async check(rawLine: string): Promise<CheckedLine> {
    const raw = rawLine.trim();
    const parsed = parseAuditLine(raw);
    if (typeof parsed === "string") {
      return raw.startsWith("{") ? { kind: "malformed", raw, problem: parsed } : { kind: "other", raw };
    }
    const entry = parsed;
    const announced = entry.event === "audit_log_enabled" ? entry.details.audit_public_key : undefined;
    if (typeof announced === "string") this.key = announced;
    this.key ??= this.lookups.auditKey();
    const problem = await this.problemOf(entry, raw);
    this.last = { seq: entry.seq, signature: entry.signature };
    return problem === undefined
      ? { kind: "entry", entry, raw, ok: true }
      : { kind: "entry", entry, raw, ok: false, problem };
  }

  private async problemOf(entry: AuditEntry, raw: string): Promise<string | undefined> {
    let predecessor: string | undefined;
    if (this.last) {
      if (entry.seq !== this.last.seq + 1) return `seq ${entry.seq} follows ${this.last.seq} (expected +1)`;
      predecessor = this.last.signature;
    } else if (entry.prev_signature !== null) {
      predecessor = this.lookups.signatureOf(entry.seq - 1, entry.prev_signature);
      if (predecessor === undefined) {
        return `the log starts at seq ${entry.seq} and entry ${entry.seq - 1} is not indexed: its link cannot be checked`;
      }
    }
    if (this.key === undefined) return "no audit public key known (no audit_log_enabled entry in the log or the index)";
    const result = await verifyAuditLog(raw, {
      auditPublicKey: this.key,
      ...(predecessor !== undefined ? { predecessor } : {}),
    });
    return result.ok ? undefined : result.reason;
  }
}

/** The audit public key an entry announces (its `audit_log_enabled`), if it does; the schema is chain.ts's [inferred]. */
export function announcedKeyOf(entry: AuditEntry): string | undefined {
  const key = entry.event === "audit_log_enabled" ? entry.details.audit_public_key : undefined;
  return typeof key === "string" ? key : undefined;
}

/**
 * scone's own link check of a window of a log that continues a known entry (`anchor`, e.g. the archive's last):
 * each entry after it has the next seq, names its predecessor's signature, and carries a valid signature of `key`.
 * The first problem, or undefined. [inferred] line schema (table.ts audit-chain-local): this check can only refuse
 * a window the SCONE CLI accepted, never accept one it did not (ship-log.ts).
 */
export async function windowLinkProblem(
  anchor: { readonly seq: number; readonly signature: string },
  lines: readonly string[],
  key: string | undefined,
): Promise<string | undefined> {
  const chain = new AuditChain({
    signatureOf: (seq) => (seq === anchor.seq ? anchor.signature : undefined),
    auditKey: () => key,
  });
  for (const line of lines) {
    const checked = await chain.check(line);
    if (checked.kind === "entry" && !checked.ok) return `seq ${checked.entry.seq}: ${checked.problem}`;
  }
  return undefined;
}
