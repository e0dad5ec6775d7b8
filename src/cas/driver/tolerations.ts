// `--set-tolerations FLAGS` (upstream kubectl-provision, SCONE-INTERFACE §10.1): the `$K_SGX_TOLERATIONS` part of
// upstream's two attestation sets — which TCB states the owner tolerates. The signer part (MRSIGNER, ISVPRODID,
// ISVSVN) stays upstream's: first the DB-injection signer, then the standard one.
import { UPSTREAM_STD_TOLERATIONS, UPSTREAM_TOLERATIONS, type VerifierSettings } from "./commands.ts";

/** The tolerance flags upstream's K_SGX_TOLERATIONS may hold (CLI §4 verifier flags), and the setting each sets. */
type ToleranceKey =
  | "acceptGroupOutOfDate"
  | "acceptConfigurationNeeded"
  | "acceptSwHardeningNeeded"
  | "acceptRevokedPckCerts"
  | "acceptUnverifiablePcsCerts";

const TOLERANCE_FLAGS: Readonly<Record<string, ToleranceKey>> = {
  "--accept-group-out-of-date": "acceptGroupOutOfDate",
  "--accept-configuration-needed": "acceptConfigurationNeeded",
  "--accept-sw-hardening-needed": "acceptSwHardeningNeeded",
  "--accept-revoked-pcs-certs": "acceptRevokedPckCerts",
  "--accept-unverifiable-pcs-certs": "acceptUnverifiablePcsCerts",
};

const TOLERANCE_KEYS = Object.values(TOLERANCE_FLAGS);

export class TolerationsError extends Error {
  override readonly name = "TolerationsError";
}

/**
 * The two attestation sets with the given tolerance flags in place of upstream's defaults. An empty value tolerates
 * nothing. A word that is not a tolerance flag is refused: a signer or debug flag here would loosen attestation
 * in a way the flag's name does not say.
 */
export function verifiersWithTolerations(flags: string): VerifierSettings[] {
  const chosen: Partial<Record<ToleranceKey, boolean>> = {};
  for (const word of flags
    .trim()
    .split(/\s+/)
    .filter((w) => w !== "")) {
    const key = TOLERANCE_FLAGS[word];
    if (!key)
      throw new TolerationsError(
        `invalid value for --set-tolerations: '${word}' is not a tolerance flag; use any of ${Object.keys(TOLERANCE_FLAGS).join(", ")}`,
      );
    chosen[key] = true;
  }
  const none = Object.fromEntries(TOLERANCE_KEYS.map((k) => [k, false])) as Record<ToleranceKey, boolean>;
  const withChosen = (base: VerifierSettings): VerifierSettings => ({ ...base, ...none, ...chosen });
  return [withChosen(UPSTREAM_TOLERATIONS), withChosen(UPSTREAM_STD_TOLERATIONS)];
}
