// Attestation as the stand-in CLI does it: the simulated report (sim/cas/report.ts) stands in for a DCAP quote. The
// CLI checks what a real one checks (SCONE-CLI §4): the report is signed by the key whose hash it names, answers this
// call's nonce, names the CAS key hash the caller expects (`-c`), is provisioned unless allowed otherwise, and its
// enclave facts pass the verifier flags (MRSIGNER / ISVPRODID / ISVSVN / MRENCLAVE / TCB tolerations).
import { canonicalJson, unhex } from "../cas/codec.ts";
import { verifyHex } from "../cas/keys-ed25519.ts";
import { keyHashOfEd25519 } from "../cas/principals.ts";
import { defaultEnclave, type EnclaveIdentity, type Report, type SignedReport } from "../cas/report.ts";
import { type ArgSpec, one, type ParsedArgs } from "./args.ts";
import { CliFailure } from "./failure.ts";

/** SCONE-CLI.md §4: `K_MRSIGNER_DB`, the signer the CLI expects when none is named. */
export const DEFAULT_MRSIGNER = "195e5a6df987d6a515dd083750c1ea352283f8364d3ec9142b0d593988c6ed2d";

export const VERIFIER_VALUES = ["--ignore-advisories", "--mrenclave", "--mrsigner", "--isvprodid", "--isvsvn"] as const;
export const VERIFIER_FLAGS = [
  "--accept-group-out-of-date",
  "-G",
  "--accept-configuration-needed",
  "-C",
  "--accept-sw-hardening-needed",
  "-S",
  "--accept-revoked-pcs-certs",
  "--accept-unverifiable-pcs-certs",
  "--only_for_testing-ignore-signer",
  "--only_for_testing-debug",
  "--only_for_testing-trust-any",
  "--fail-on-any-advisory",
] as const;

export const VERIFIER_SPEC: Pick<ArgSpec, "values" | "flags"> = { values: VERIFIER_VALUES, flags: VERIFIER_FLAGS };

const TOLERANCE: Record<string, readonly string[]> = {
  "group-out-of-date": ["--accept-group-out-of-date", "-G"],
  "configuration-needed": ["--accept-configuration-needed", "-C"],
  "sw-hardening-needed": ["--accept-sw-hardening-needed", "-S"],
};

/** Signature, key binding, nonce and expected key hash of a report; returns the report. */
export function checkReport(signed: SignedReport, nonce: string, expectedKeyHash: string | undefined): Report {
  const r = signed.report;
  let key: Uint8Array;
  try {
    key = unhex(String(r.cas_public_key), "cas_public_key");
  } catch {
    throw new CliFailure("attestation failed: the report carries no CAS public key");
  }
  if (!verifyHex(key, canonicalJson(r), String(signed.signature))) {
    throw new CliFailure("attestation failed: the report's signature does not verify with the CAS key it names");
  }
  if (keyHashOfEd25519(key) !== r.cas_key_hash) {
    throw new CliFailure("attestation failed: the report's CAS key hash is not the hash of its CAS key");
  }
  if (String(r.nonce).toLowerCase() !== nonce.toLowerCase()) {
    throw new CliFailure("attestation failed: the report does not answer this request's nonce (replayed report?)");
  }
  if (expectedKeyHash !== undefined && expectedKeyHash !== r.cas_key_hash) {
    throw new CliFailure(
      `attestation failed: CAS key hash mismatch: expected ${expectedKeyHash} (-c), the CAS presents ${r.cas_key_hash}`,
    );
  }
  return r;
}

/** Throws a CliFailure naming what did not match; returns when the CAS's enclave passes the verifier flags. */
export function verify(report: Report, p: ParsedArgs, version: { major: number }): void {
  const enclave: EnclaveIdentity = report.enclave ?? defaultEnclave(report.version);
  for (const gated of ["--accept-revoked-pcs-certs", "--accept-unverifiable-pcs-certs"]) {
    if (p.flags.has(gated) && version.major < 7) throw new CliFailure(`error: unexpected argument '${gated}' found`, 2);
  }
  const ignoreSigner = p.flags.has("--only_for_testing-ignore-signer");
  if (p.flags.has("--only_for_testing-debug") && !ignoreSigner) {
    throw new CliFailure("error: --only_for_testing-debug needs --only_for_testing-ignore-signer", 2);
  }
  if (p.flags.has("--only_for_testing-trust-any")) {
    if (!enclave.debug) {
      throw new CliFailure("attestation failed: --only_for_testing-trust-any is for a debug-mode CAS; this one is not");
    }
    return;
  }
  for (const a of (one(p, "--ignore-advisories") ?? "").split(",").filter((x) => x !== "")) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(a)) throw new CliFailure(`error: invalid advisory id '${a}'`, 2);
  }
  const wanted = (p.values.get("--mrenclave") ?? []).map((m) => m.toLowerCase());
  if (ignoreSigner) {
    if (wanted.length === 0) throw new CliFailure("attestation failed: an ignored signer needs --mrenclave");
  }
  if (wanted.length > 0 && !wanted.includes(enclave.mrenclave)) {
    throw new CliFailure(
      `attestation failed: MRENCLAVE ${enclave.mrenclave} of the CAS is not among the expected ones`,
    );
  }
  if (!ignoreSigner) {
    const signer = (one(p, "--mrsigner") ?? DEFAULT_MRSIGNER).toLowerCase();
    if (signer !== enclave.mrsigner) {
      throw new CliFailure(
        `attestation failed: MRSIGNER mismatch: expected ${signer}, the CAS has ${enclave.mrsigner}`,
      );
    }
    const prodId = one(p, "--isvprodid");
    if (prodId !== undefined && Number(prodId) !== enclave.isvprodid) {
      throw new CliFailure(
        `attestation failed: ISVPRODID mismatch: expected ${prodId}, the CAS has ${enclave.isvprodid}`,
      );
    }
    const svn = one(p, "--isvsvn");
    // An MRENCLAVE list turns the ISVSVN check off (CLI §4 [docs]).
    if (svn !== undefined && wanted.length === 0 && enclave.isvsvn < Number(svn)) {
      throw new CliFailure(`attestation failed: ISVSVN ${enclave.isvsvn} of the CAS is below ${svn}`);
    }
  }
  for (const need of enclave.tcb_status) {
    const flags = TOLERANCE[need] ?? [];
    if (!flags.some((f) => p.flags.has(f))) {
      throw new CliFailure(`attestation failed: TCB status ${need} is not tolerated (${flags[0] ?? "no flag"})`);
    }
  }
}
