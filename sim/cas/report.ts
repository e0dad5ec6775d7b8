// The simulated attestation report (`GET /v1/attest?nonce=…`, README row "GET /v1/attest"): SGX would answer with a
// DCAP quote binding the CAS keys; the simulator answers {report, signature} instead, the report naming its keys,
// TLS CA, version and state and echoing the caller's nonce, signed by the CAS key over the report's canonical JSON.
import { canonicalJson } from "./codec.ts";
import { type SigningKey, signHex } from "./keys-ed25519.ts";

/** A client's nonce: 16 random bytes as 32 hex characters. */
export const NONCE_PATTERN = /^[0-9A-Fa-f]{32}$/;

export interface Report {
  readonly nonce: string;
  readonly cas_key_hash: string;
  /** Raw Ed25519 CAS public key, 64 hex. */
  readonly cas_public_key: string;
  readonly software_key_hash: string;
  /** Raw X25519 session encryption key, 64 hex. */
  readonly session_encryption_key: string;
  /** Raw Ed25519 audit public key, 64 hex. */
  readonly audit_public_key: string;
  /** PEM of the client API's CA. */
  readonly ca_certificate: string;
  readonly version: string;
  readonly provisioned: boolean;
  /** ISO 8601. */
  readonly timestamp: string;
}

export interface SignedReport {
  readonly report: Report;
  /** Ed25519 by the CAS key over canonicalJson(report), 128 hex. */
  readonly signature: string;
}

export const signedReport = (report: Report, casKey: SigningKey): SignedReport => ({
  report,
  signature: signHex(casKey, canonicalJson(report)),
});
