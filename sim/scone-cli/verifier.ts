// The attestation check of the stand-in: the verifier flags of SCONE-CLI.md §4 against the pretend CAS's signer and
// TCB state. A stand-in CAS has no quote; what it checks is which flags a real verifier would need to pass.
import { type ArgSpec, one, type ParsedArgs } from "./args.ts";
import { CliFailure, type WorldCas } from "./state.ts";

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

/** Throws a CliFailure naming what did not match; returns when the pretend CAS passes. */
export function verify(cas: WorldCas, p: ParsedArgs, version: { major: number }): void {
  for (const gated of ["--accept-revoked-pcs-certs", "--accept-unverifiable-pcs-certs"]) {
    if (p.flags.has(gated) && version.major < 7) throw new CliFailure(`error: unexpected argument '${gated}' found`, 2);
  }
  if (p.flags.has("--only_for_testing-trust-any")) return;
  if (p.flags.has("--only_for_testing-ignore-signer")) {
    const wanted = p.values.get("--mrenclave") ?? [];
    if (wanted.length === 0) throw new CliFailure("an ignored signer needs --mrenclave");
    if (!wanted.some((m) => m.toLowerCase() === cas.mrenclave)) {
      throw new CliFailure("attestation failed: MRENCLAVE of the CAS is not among the expected ones");
    }
    return;
  }
  const signer = one(p, "--mrsigner") ?? DEFAULT_MRSIGNER;
  if (signer.toLowerCase() !== cas.mrsigner)
    throw new CliFailure(`attestation failed: MRSIGNER mismatch (expected ${signer})`);
  const prodId = one(p, "--isvprodid");
  if (prodId !== undefined && Number(prodId) !== cas.isvprodid)
    throw new CliFailure("attestation failed: ISVPRODID mismatch");
  const svn = one(p, "--isvsvn");
  if (svn !== undefined && cas.isvsvn < Number(svn)) throw new CliFailure("attestation failed: ISVSVN too low");
  for (const need of cas.tcb) {
    const flags = TOLERANCE[need] ?? [];
    if (!flags.some((f) => p.flags.has(f)))
      throw new CliFailure(`attestation failed: TCB status ${need} not tolerated`);
  }
}
