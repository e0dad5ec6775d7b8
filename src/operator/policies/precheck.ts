// The operator's own checks of a SignedPolicy / EncryptedPolicy, and the bodies it hands the SCONE CLI (pure).
// Only what SCONE documents is checked here: the resource's fields (SCONE-CLI §6 "Kubernetes manifests"), the
// session's `name` and `predecessor` (SCONE-INTERFACE §12.3) and the encryption key's 64 hex (SCONE-CLI §5). The
// signer's format and the signatures are NOT checked: signers come in several documented encodings (PEM SPKI,
// base58 — the upstream sample's `N2exBX7…`), and whether a signature verifies and whether its signer may create or
// update the session is the CAS's decision. A policy that passes is submitted; the CAS's refusal is reported as such.
import { parse } from "yaml";
import { CliInputError, checkSessionName } from "../../cas/driver/commands.ts";
import type { EncryptedPolicySpec, SignedPolicySpec } from "../../resources/policies.ts";
import { POLICY_REASON } from "../../resources/policy-conditions.ts";
import { casRefOfAddress } from "./address.ts";

/** Why scone refused a policy before sending it (distinct from `CasRejected`, the CAS's refusal). */
export type PolicyProblemReason =
  | typeof POLICY_REASON.MissingField
  | typeof POLICY_REASON.MalformedField
  | typeof POLICY_REASON.InvalidCasAddress
  | typeof POLICY_REASON.InvalidSession
  | typeof POLICY_REASON.MalformedEncryptionKey;

export interface PolicyProblem {
  readonly reason: PolicyProblemReason;
  /** The spec field at fault, e.g. `spec.signatures[1].signer`. */
  readonly field: string;
  /** Plain words naming the field and the fix. */
  readonly message: string;
}

export interface SignedPrecheck {
  readonly problems: readonly PolicyProblem[];
  /** The session name in spec.policy (what `session read` is asked for). */
  readonly sessionName?: string;
  /** The predecessor written in spec.policy; null when none (`~`, empty or absent). */
  readonly predecessor?: string | null;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const SESSION_HASH = /^[0-9a-f]{64}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";

function missing(field: string, what: string): PolicyProblem {
  return { reason: POLICY_REASON.MissingField, field, message: `${field}: missing — ${what}` };
}

/** spec.casAddress must name an in-cluster CAS: the driver reaches a CAS resource, not an arbitrary URL. */
function casAddressProblems(value: unknown): PolicyProblem[] {
  if (!nonEmpty(value)) return [missing("spec.casAddress", "give the CAS as https://NAME.NAMESPACE:8081")];
  if (casRefOfAddress(value)) return [];
  return [
    {
      reason: POLICY_REASON.InvalidCasAddress,
      field: "spec.casAddress",
      message: `spec.casAddress: ${JSON.stringify(value.slice(0, 120))} does not name a CAS of this cluster — use https://NAME.NAMESPACE:8081 (also .svc, .svc.cluster.local)`,
    },
  ];
}

/**
 * The session's `name` and `predecessor` (SCONE-INTERFACE §12.3: name segments of [A-Za-z0-9_-.~] joined by /;
 * predecessor a 32-byte hex hash, `~`/empty = none). Everything else in the session is the CAS's to judge.
 */
export function sessionHeader(text: string): { name: string; predecessor: string | null } | PolicyProblem {
  const bad = (message: string): PolicyProblem => ({
    reason: POLICY_REASON.InvalidSession,
    field: "spec.policy",
    message: `spec.policy: ${message}`,
  });
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return bad(`not a session document (YAML): ${errorLine(err)}`);
  }
  if (!isRecord(doc)) return bad("not a session document: expected a mapping with `name`");
  if (!nonEmpty(doc.name)) return bad("the session has no `name`");
  try {
    checkSessionName("name", doc.name);
  } catch (err) {
    if (err instanceof CliInputError) return bad(`session ${err.message}`);
    throw err;
  }
  const p = doc.predecessor;
  if (p === undefined || p === null || p === "" || p === "~") return { name: doc.name, predecessor: null };
  if (typeof p === "string" && SESSION_HASH.test(p)) return { name: doc.name, predecessor: p };
  return bad(`predecessor ${JSON.stringify(String(p).slice(0, 80))} is not a session hash (64 lowercase hex) or ~`);
}

function errorLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}

/** The documented shape of a SignedPolicy spec; never the signer's format, never the signatures' validity. */
export function precheckSignedPolicy(spec: Partial<SignedPolicySpec> | undefined): SignedPrecheck {
  const problems: PolicyProblem[] = [...casAddressProblems(spec?.casAddress)];
  const policy: unknown = spec?.policy;
  let header: { name: string; predecessor: string | null } | undefined;
  if (!nonEmpty(policy)) {
    problems.push(
      missing("spec.policy", "it holds the session exactly as signed (the `session` of `scone session sign`)"),
    );
  } else {
    const h = sessionHeader(policy);
    if ("reason" in h) problems.push(h);
    else header = h;
  }
  const signatures: unknown = spec?.signatures;
  if (!Array.isArray(signatures) || signatures.length === 0) {
    problems.push(missing("spec.signatures", "sign the policy with `scone session sign` and copy its `signatures`"));
  } else {
    for (const [i, entry] of signatures.entries()) {
      const field = `spec.signatures[${i}]`;
      if (!isRecord(entry)) {
        problems.push({
          reason: POLICY_REASON.MalformedField,
          field,
          message: `${field}: expected {signer, signature}`,
        });
        continue;
      }
      if (!nonEmpty(entry.signer))
        problems.push(missing(`${field}.signer`, "the signer string `session sign` printed"));
      if (!nonEmpty(entry.signature))
        problems.push(missing(`${field}.signature`, "the signature string `session sign` printed"));
    }
  }
  return {
    problems,
    ...(header ? { sessionName: header.name, predecessor: header.predecessor } : {}),
  };
}

/** The documented shape of an EncryptedPolicy spec; whether the CAS can decrypt it is the CAS's to say. */
export function precheckEncryptedPolicy(spec: Partial<EncryptedPolicySpec> | undefined): PolicyProblem[] {
  const problems: PolicyProblem[] = [...casAddressProblems(spec?.casAddress)];
  if (!nonEmpty(spec?.policy)) {
    problems.push(missing("spec.policy", "the `encrypted_session` of `scone session encrypt`"));
  }
  const key: unknown = spec?.encryptionKey;
  if (!nonEmpty(key)) {
    problems.push(missing("spec.encryptionKey", "the `encryption_key` of `scone session encrypt`"));
  } else if (!HEX64.test(key)) {
    problems.push({
      reason: POLICY_REASON.MalformedEncryptionKey,
      field: "spec.encryptionKey",
      message:
        "spec.encryptionKey: expected 64 hex characters (SCONE-CLI §5; `scone cas show-identification --session-encryption-key`)",
    });
  }
  return problems;
}

/** SCONE-CLI §6 signed-session JSON: `{session, signatures[{signer, signature}]}`, serialized once. */
export function signedSessionBody(spec: Pick<SignedPolicySpec, "policy" | "signatures">): string {
  return JSON.stringify({
    session: spec.policy,
    signatures: spec.signatures.map((s) => ({ signer: s.signer, signature: s.signature })),
  });
}

/** SCONE-CLI §6 encrypted-session JSON: `{encrypted_session, encryption_key}` ("Upload it with session create"). */
export function encryptedSessionBody(spec: Pick<EncryptedPolicySpec, "policy" | "encryptionKey">): string {
  return JSON.stringify({ encrypted_session: spec.policy, encryption_key: spec.encryptionKey });
}
