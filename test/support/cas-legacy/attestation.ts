// The CAS attestation report as scone and the simulator exchange it (`GET /v1/attest?nonce=…`).
// Real CAS answers with an SGX/DCAP quote whose report data binds the CAS keys; that format is unpublished and needs
// SGX to produce, so the simulated report is a JSON document signed with the CAS key (Ed25519). What the client checks
// is the same in spirit: the CAS key hash it was told out of band (the console line) signs a report that echoes its
// fresh nonce and names the TLS CA the client will pin from then on.
import { nestsDeeperThan } from "../../../src/runtime/json-depth.ts";
import {
  canonicalJson,
  type Ed25519KeyPair,
  ed25519Sign,
  ed25519Spki,
  ed25519Verify,
  fromHex,
  keyHashOfSpki,
  sha256Hex,
} from "./crypto.ts";

export const NONCE_PATTERN = /^[0-9A-Fa-f]{32}$/;

export interface AttestationReport {
  /** The client's nonce, echoed (32 hex). */
  readonly nonce: string;
  readonly cas_key_hash: string;
  /** Raw Ed25519 public key of the CAS key, 64 hex; its key hash must equal cas_key_hash. */
  readonly cas_public_key: string;
  readonly software_key_hash: string;
  /** X25519 public key, 64 hex: EncryptedPolicy.spec.encryptionKey. */
  readonly session_encryption_key: string;
  /** Raw Ed25519 public key of the audit-log signing key, 64 hex. */
  readonly audit_public_key: string;
  /** The CA certificate (PEM) of the client API's TLS chain. */
  readonly ca_certificate: string;
  readonly version: string;
  readonly provisioned: boolean;
  /** ISO 8601. */
  readonly timestamp: string;
}

export interface SignedAttestationReport {
  readonly report: AttestationReport;
  /** Ed25519 by the CAS key over canonicalJson(report), 128 hex. */
  readonly signature: string;
}

export class CasAttestationError extends Error {
  override readonly name = "CasAttestationError";
}

export function casKeyHashOf(publicKey: Uint8Array): string {
  return keyHashOfSpki(ed25519Spki(publicKey));
}

export async function signReport(report: AttestationReport, casKey: Ed25519KeyPair): Promise<SignedAttestationReport> {
  return { report, signature: await ed25519Sign(casKey, canonicalJson(report)) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const STRING_FIELDS = [
  "nonce",
  "cas_key_hash",
  "cas_public_key",
  "software_key_hash",
  "session_encryption_key",
  "audit_public_key",
  "ca_certificate",
  "version",
  "timestamp",
] as const;

const MAX_REPORT_DEPTH = 32;

/** Shape check of an untrusted report body. */
export function parseSignedReport(value: unknown): SignedAttestationReport {
  if (!isRecord(value) || !isRecord(value.report) || typeof value.signature !== "string") {
    throw new CasAttestationError("attestation: response is not a signed report ({report, signature})");
  }
  const report = value.report;
  for (const field of STRING_FIELDS) {
    if (typeof report[field] !== "string") throw new CasAttestationError(`attestation: report.${field} missing`);
  }
  if (typeof report.provisioned !== "boolean") throw new CasAttestationError("attestation: report.provisioned missing");
  // The signature check walks the whole report recursively (canonicalJson): refuse what would overflow the stack.
  if (nestsDeeperThan(report, MAX_REPORT_DEPTH)) {
    throw new CasAttestationError(`attestation: report nested deeper than ${MAX_REPORT_DEPTH} levels`);
  }
  return { report: report as unknown as AttestationReport, signature: value.signature };
}

export interface ReportExpectations {
  readonly nonce: string;
  /** The CAS key hash learned out of band (CAS console / `kubectl provision --print-public-keys`). */
  readonly casKeyHash: string;
}

/** Verifies signature, key binding and nonce; returns the report or throws CasAttestationError saying what failed. */
export async function verifyReport(
  signed: SignedAttestationReport,
  expected: ReportExpectations,
): Promise<AttestationReport> {
  const { report } = signed;
  let casPublicKey: Uint8Array;
  try {
    casPublicKey = fromHex(report.cas_public_key, "cas_public_key");
  } catch (err) {
    throw new CasAttestationError(`attestation: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (casPublicKey.length !== 32 || casKeyHashOf(casPublicKey) !== report.cas_key_hash) {
    throw new CasAttestationError("attestation: report.cas_public_key does not match report.cas_key_hash");
  }
  if (report.cas_key_hash !== expected.casKeyHash) {
    throw new CasAttestationError(
      `attestation: CAS key hash is ${report.cas_key_hash}, expected ${expected.casKeyHash} — wrong CAS or wrong -c value`,
    );
  }
  if (!(await ed25519Verify(casPublicKey, canonicalJson(report), signed.signature))) {
    throw new CasAttestationError("attestation: report signature does not verify with the CAS key");
  }
  if (report.nonce.toLowerCase() !== expected.nonce.toLowerCase()) {
    throw new CasAttestationError("attestation: report nonce differs from the one sent (replayed report?)");
  }
  return report;
}

/** Fingerprint of the pinned CA, for display (`scone cas show-certificate`-like output). */
export function caFingerprint(caPem: string): string {
  return sha256Hex(caPem.trim());
}
