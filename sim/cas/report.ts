// The simulated attestation report (`GET /v1/attest?nonce=…`, README row "GET /v1/attest"): SGX would answer with a
// DCAP quote binding the CAS keys; the simulator answers {report, signature} instead, the report naming its keys,
// TLS CA, version and state and echoing the caller's nonce, signed by the CAS key over the report's canonical JSON.
import { canonicalJson, hex, sha256 } from "./codec.ts";
import { type SigningKey, signHex } from "./keys-ed25519.ts";

/** A client's nonce: 16 random bytes as 32 hex characters. */
export const NONCE_PATTERN = /^[0-9A-Fa-f]{32}$/;

/**
 * What a quote would attest about the enclave [S]: the measurements and TCB state a verifier checks the CLI's
 * flags against (SCONE-CLI §4 verifier flags). `tcb_status`: any of group-out-of-date, configuration-needed,
 * sw-hardening-needed — states a verifier must tolerate explicitly.
 */
export interface EnclaveIdentity {
  readonly mrenclave: string;
  readonly mrsigner: string;
  readonly isvprodid: number;
  readonly isvsvn: number;
  readonly tcb_status: readonly string[];
  readonly debug: boolean;
}

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
  /** [S] absent in reports recorded before the simulated enclave facts existed. */
  readonly enclave?: EnclaveIdentity;
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

/** SCONE-CLI §4 `K_MRSIGNER_DB`: the production CAS signer, the default of the CLI's verifier. */
export const DB_INJECTION_MRSIGNER = "195e5a6df987d6a515dd083750c1ea352283f8364d3ec9142b0d593988c6ed2d";

/** The simulated enclave unless flags say otherwise: DB-injection signer, ISVPRODID 41316, ISVSVN 5, TCB up to date. */
export function defaultEnclave(version: string): EnclaveIdentity {
  return {
    mrenclave: hex(sha256(`scone-cas-simulator ${version}`)),
    mrsigner: DB_INJECTION_MRSIGNER,
    isvprodid: 41316,
    isvsvn: 5,
    tcb_status: [],
    debug: false,
  };
}
