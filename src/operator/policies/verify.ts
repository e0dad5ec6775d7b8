// Local verification of SignedPolicy and EncryptedPolicy manifests for `scone policy verify` (pure: no I/O): every
// signature checked over the EXACT bytes of spec.policy for the signer formats scone can decode, `creator.signer`
// among the valid signers, optionally a trust list. The operator's controllers do NOT use it: they check only the
// documented shape (precheck.ts) and leave signatures to the CAS, so a signer format scone cannot decode (the
// upstream sample's base58 `N2exBX7…`) reaches the CAS there, while this tool reports it as UnknownSignerFormat.
import { ed25519OfSigner, ed25519Verify, fromBase64 } from "../../cas/crypto.ts";
import { parseSession, SessionFormatError } from "../../cas/session.ts";
import type { EncryptedPolicySpec, SignedPolicySpec } from "../../resources/policies.ts";

/** Why a policy is refused; `reason` is a CamelCase word for conditions and Events. */
export type PolicyProblemReason =
  | "MissingPolicy"
  | "MissingSignature"
  | "UnknownSignerFormat"
  | "MalformedSignature"
  | "InvalidSignature"
  | "InvalidPolicy"
  | "CreatorNotSigner"
  | "UntrustedSigner"
  | "MalformedEncryptionKey"
  | "MalformedEncryptedPolicy"
  | "WrongEncryptionKey";

export interface PolicyProblem {
  readonly reason: PolicyProblemReason;
  /** The spec field at fault, e.g. `spec.signatures[1].signature`. */
  readonly field: string;
  /** The signer concerned, when there is one. */
  readonly signer?: string;
  /** Plain words naming the fault and the fix. */
  readonly message: string;
}

export interface SignedPolicyVerification {
  readonly ok: boolean;
  /** Signers whose signature verified over spec.policy (in spec order, without repeats). */
  readonly signers: readonly string[];
  readonly problems: readonly PolicyProblem[];
  /** The session name, when the policy text parses (what the CAS will register). */
  readonly sessionName?: string;
  /** The predecessor written in the policy (null: a create). Undefined when the text does not parse. */
  readonly predecessor?: string | null;
}

export interface VerifyOptions {
  /**
   * Signers allowed to register sessions at this CAS (the owner's session-signing key plus configured ones).
   * Undefined: no trust list (signatures must still verify).
   */
  readonly trustedSigners?: readonly string[];
}

const SIGNATURE_HEX = /^[0-9a-fA-F]{128}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Verifies a SignedPolicy spec. `ok` only when there is at least one signature, every signature verifies over the
 * exact policy text, the text is a session document, its `creator.signer` (if any) signed it, and every signer is
 * trusted (when a trust list is given).
 */
export async function verifySignedPolicy(
  spec: Partial<SignedPolicySpec> | undefined,
  options: VerifyOptions = {},
): Promise<SignedPolicyVerification> {
  const problems: PolicyProblem[] = [];
  const signers: string[] = [];
  const policy = spec?.policy;
  if (typeof policy !== "string" || policy === "") {
    problems.push({
      reason: "MissingPolicy",
      field: "spec.policy",
      message: "spec.policy: missing — it must hold the session YAML exactly as signed (scone policy sign)",
    });
  }
  const signatures: unknown[] = Array.isArray(spec?.signatures) ? spec.signatures : [];
  if (signatures.length === 0) {
    problems.push({
      reason: "MissingSignature",
      field: "spec.signatures",
      message: "spec.signatures: no signature — sign the policy with `scone policy sign`",
    });
  }
  for (const [i, entry] of signatures.entries()) {
    const field = `spec.signatures[${i}]`;
    const signer = isRecord(entry) && typeof entry.signer === "string" ? entry.signer : undefined;
    const signature = isRecord(entry) && typeof entry.signature === "string" ? entry.signature : undefined;
    if (signer === undefined || signer === "") {
      problems.push({ reason: "UnknownSignerFormat", field: `${field}.signer`, message: `${field}.signer: missing` });
      continue;
    }
    const publicKey = ed25519OfSigner(signer);
    if (!publicKey) {
      problems.push({
        reason: "UnknownSignerFormat",
        field: `${field}.signer`,
        signer,
        message: `${field}.signer: "${signer}" is not a session-signing key (expected the output of scone self show-session-signing-key)`,
      });
      continue;
    }
    if (signature === undefined || !SIGNATURE_HEX.test(signature)) {
      problems.push({
        reason: "MalformedSignature",
        field: `${field}.signature`,
        signer,
        message: `${field}.signature: expected 128 hex characters (an Ed25519 signature) from signer ${signer}`,
      });
      continue;
    }
    if (typeof policy !== "string" || !(await ed25519Verify(publicKey, policy, signature))) {
      problems.push({
        reason: "InvalidSignature",
        field: `${field}.signature`,
        signer,
        message: `${field}.signature: does not verify over spec.policy for signer ${signer} — the policy text was changed after signing, or it was signed by another key`,
      });
      continue;
    }
    if (!signers.includes(signer)) signers.push(signer);
  }

  let sessionName: string | undefined;
  let predecessor: string | null | undefined;
  if (typeof policy === "string" && policy !== "") {
    try {
      const doc = parseSession(policy);
      sessionName = doc.name;
      predecessor = doc.predecessor;
      if (doc.creatorSigner !== undefined && !signers.includes(doc.creatorSigner)) {
        problems.push({
          reason: "CreatorNotSigner",
          field: "spec.policy",
          signer: doc.creatorSigner,
          message: `creator.signer ${doc.creatorSigner} has no valid signature on this policy — sign it with that key`,
        });
      }
    } catch (err) {
      if (!(err instanceof SessionFormatError)) throw err;
      problems.push({ reason: "InvalidPolicy", field: "spec.policy", message: `spec.policy: ${err.message}` });
    }
  }

  if (options.trustedSigners !== undefined) problems.push(...untrustedSigners(signers, options.trustedSigners));

  return {
    ok: problems.length === 0,
    signers,
    problems,
    ...(sessionName !== undefined ? { sessionName } : {}),
    ...(predecessor !== undefined ? { predecessor } : {}),
  };
}

/** One UntrustedSigner problem per valid signer missing from the trust list. */
export function untrustedSigners(signers: readonly string[], trusted: readonly string[]): PolicyProblem[] {
  return signers
    .filter((signer) => !trusted.includes(signer))
    .map((signer) => ({
      reason: "UntrustedSigner",
      field: "spec.signatures",
      signer,
      message: `signer ${signer} is not trusted for this CAS — only the CAS owner's session-signing key and the allowed signers configured for it may register policies`,
    }));
}

const SEALED_VERSION = 0x01;
/** version ‖ ephemeral X25519 key ‖ IV ‖ tag: the smallest sealed box (src/cas/crypto.ts layout). */
const SEALED_MIN_BYTES = 1 + 32 + 12 + 16;

/** Format checks of an EncryptedPolicy spec that need no CAS: the key is 64 hex, the policy a sealed box. */
export function checkEncryptedPolicyFormat(spec: Partial<EncryptedPolicySpec> | undefined): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const key = spec?.encryptionKey;
  if (typeof key !== "string" || !/^[0-9a-fA-F]{64}$/.test(key)) {
    problems.push({
      reason: "MalformedEncryptionKey",
      field: "spec.encryptionKey",
      message:
        "spec.encryptionKey: expected 64 hex characters, the target CAS's session encryption key (scone cas show-identification --session-encryption-key)",
    });
  }
  const policy = spec?.policy;
  let box: Uint8Array | undefined;
  try {
    box = typeof policy === "string" && policy !== "" ? fromBase64(policy, "spec.policy") : undefined;
  } catch {
    box = undefined;
  }
  if (!box || box.length < SEALED_MIN_BYTES || box[0] !== SEALED_VERSION) {
    problems.push({
      reason: "MalformedEncryptedPolicy",
      field: "spec.policy",
      message: "spec.policy: not an encrypted session (base64 sealed box) — produce it with `scone policy encrypt`",
    });
  }
  return problems;
}

/** The problem when spec.encryptionKey is not the target CAS's attested session-encryption key. */
export function encryptionKeyProblem(
  spec: Pick<EncryptedPolicySpec, "encryptionKey" | "casAddress">,
  casKey: string,
): PolicyProblem | undefined {
  if (spec.encryptionKey.toLowerCase() === casKey.toLowerCase()) return undefined;
  return {
    reason: "WrongEncryptionKey",
    field: "spec.encryptionKey",
    message: `spec.encryptionKey ${spec.encryptionKey} is not the session encryption key of the CAS at ${spec.casAddress} (${casKey}) — encrypt the policy again for that CAS`,
  };
}
