// The verdict on a CAS audit log comes from the SCONE CLI (issue 13): the log text as scone read it goes to
// `cas verify-audit-log --cas <addr> <log>` through the CAS driver (SCONE-CLI §4), and the CLI's exit code is the
// verdict (§5: 0, 10, 14–20; anything else: the CLI could not verify). scone's own line check (chain.ts) only
// annotates the index for search; it claims no verdict (table.ts audit-chain-local).
import type { AuditVerdict } from "../../cas/driver/commands.ts";
import type { CasDriverSource, CasRef } from "../../cas/driver/reach.ts";

/** The most log text handed to the CLI in one verification (it is written to a file in the CLI's directory). */
export const MAX_VERIFIED_LOG_BYTES = 16 * 1024 * 1024;
/** The CLI's details kept for the report (its stderr, head first: where it names the violation). */
export const MAX_VERDICT_DETAILS = 8 * 1024;

export interface AuditVerification extends Omit<AuditVerdict, "log"> {
  /** Which CLI gave the verdict (the sconecli pod of the CAS, or a local CLI). */
  readonly by: string;
}

/** The log is more than one verification takes: no verdict, rather than a verdict on a part of it. */
export class AuditLogTooLarge extends Error {
  override readonly name = "AuditLogTooLarge";
  constructor() {
    super(
      `the audit log read is more than the ${MAX_VERIFIED_LOG_BYTES} bytes scone hands the SCONE CLI ` +
        "for one verification: not verified (verify the log file with `scone cas verify-audit-log` directly)",
    );
  }
}

/**
 * Verifies `text` (lines of the CAS's audit log) with the SCONE CLI, naming the CAS it must come from (`--cas`: the
 * CLI checks the log against that CAS's key and chain). The operator's CLI identity is enough: verifying changes
 * nothing in CAS.
 */
export async function verifyAuditText(
  source: CasDriverSource,
  cas: CasRef,
  text: string,
  signal?: AbortSignal,
  /**
   * `cas` (default): against the CAS (`--cas`). `log-key`: offline, with the key the log announces (no `--cas`,
   * CLI §4): for a log whose CAS pod is gone, which the CAS's current chain no longer holds (the archive shipper).
   */
  against: "cas" | "log-key" = "cas",
): Promise<AuditVerification> {
  if (Buffer.byteLength(text, "utf8") > MAX_VERIFIED_LOG_BYTES) throw new AuditLogTooLarge();
  const conn = await source.connect(cas, { kind: "operator" }, signal);
  try {
    const verdict = await conn.driver.verifyAuditLog({
      log: text,
      ...(against === "cas" ? { cas: conn.address } : {}),
    });
    return {
      exitCode: verdict.exitCode,
      meaning: verdict.meaning,
      correct: verdict.correct,
      details: boundedDetails(verdict.details),
      by: source.description,
    };
  } finally {
    await conn.release();
  }
}

function boundedDetails(stderr: string): string {
  const trimmed = stderr.trim();
  return trimmed.length <= MAX_VERDICT_DETAILS ? trimmed : `${trimmed.slice(0, MAX_VERDICT_DETAILS)}… (cut)`;
}

/** One line for a person: the exit code, its documented meaning (SCONE-CLI §5), and who said so. */
export function describeVerdict(v: AuditVerification): string {
  const meaning = v.meaning ?? "the SCONE CLI could not verify the log (not a documented verdict)";
  return `audit log verification by ${v.by}: exit ${v.exitCode}, ${meaning}`;
}
