// SignedPolicy / EncryptedPolicy manifests in SCONE's own formats, built from the SCONE CLI's JSON (`session sign`,
// `session encrypt`: SCONE-CLI §6) as upstream's legacy lib.rs does. scone signs and seals nothing itself. Pure but
// for the lazy yaml import; the CLI's `scone policy sign|encrypt` (src/cli/run/policy.ts) and tests use it.
import type { EncryptedPolicySpec, SignedPolicySpec } from "../../resources/policies.ts";
import { PolicyDocumentError } from "./errors.ts";

const API_VERSION = "cas.scone.cloud/v1beta1";
/** CLI §5: a session encryption key is 64 hex characters. */
export const ENCRYPTION_KEY = /^[0-9a-fA-F]{64}$/;

export type ManifestFormat = "yaml" | "json";

export interface PolicyManifest<Kind extends string, Spec> {
  apiVersion: string;
  kind: Kind;
  metadata: { name: string; namespace?: string };
  spec: Spec;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A DNS-1123 subdomain for metadata.name from a session name (`a/b_c` → `a-b-c`). */
export function resourceNameOf(sessionName: string): string {
  const name = sessionName
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "")
    .slice(0, 253)
    .replace(/[^a-z0-9]+$/, "");
  return name === "" ? "policy" : name;
}

/** The session's `name` (session language §12.3) from its YAML text; undefined when it has none. */
export async function sessionNameOf(text: string): Promise<string | undefined> {
  const { parse } = await import("yaml");
  try {
    const doc: unknown = parse(text);
    return isRecord(doc) && typeof doc.name === "string" && doc.name !== "" ? doc.name : undefined;
  } catch {
    return undefined;
  }
}

/** `session sign` output (CLI §6 [crate: legacy lib.rs]): `{session, signatures: [{signer, signature}]}`. */
export interface SignedSessionJson {
  readonly session: string;
  readonly signatures: readonly { readonly signer: string; readonly signature: string }[];
}

/** `session encrypt` output (CLI §6 [crate: legacy lib.rs]): `{encrypted_session, encryption_key}`. */
export interface EncryptedSessionJson {
  readonly encrypted_session: string;
  readonly encryption_key: string;
}

function cliJson(stdout: string, command: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    throw new PolicyDocumentError(
      `the SCONE CLI's \`${command}\` printed no JSON object (SCONE-CLI §6); nothing was written`,
    );
  }
  if (!isRecord(value))
    throw new PolicyDocumentError(`the SCONE CLI's \`${command}\` printed JSON that is not an object`);
  return value;
}

export function parseSignedSession(stdout: string): SignedSessionJson {
  const v = cliJson(stdout, "session sign");
  const sigs = v.signatures;
  if (typeof v.session !== "string" || v.session === "")
    throw new PolicyDocumentError("the SCONE CLI's `session sign` output has no `session` string (SCONE-CLI §6)");
  if (
    !Array.isArray(sigs) ||
    sigs.length === 0 ||
    !sigs.every((s) => isRecord(s) && typeof s.signer === "string" && typeof s.signature === "string")
  )
    throw new PolicyDocumentError(
      "the SCONE CLI's `session sign` output has no `signatures` [{signer, signature}] (SCONE-CLI §6)",
    );
  const signatures = (sigs as { signer: string; signature: string }[]).map((s) => ({
    signer: s.signer,
    signature: s.signature,
  }));
  return { session: v.session, signatures };
}

export function parseEncryptedSession(stdout: string): EncryptedSessionJson {
  const v = cliJson(stdout, "session encrypt");
  if (typeof v.encrypted_session !== "string" || v.encrypted_session === "")
    throw new PolicyDocumentError(
      "the SCONE CLI's `session encrypt` output has no `encrypted_session` string (SCONE-CLI §6)",
    );
  if (typeof v.encryption_key !== "string" || !ENCRYPTION_KEY.test(v.encryption_key))
    throw new PolicyDocumentError(
      "the SCONE CLI's `session encrypt` output has no 64-hex `encryption_key` (SCONE-CLI §6)",
    );
  return { encrypted_session: v.encrypted_session, encryption_key: v.encryption_key };
}

/** Where the manifest points and what it is called. */
export interface ManifestTarget {
  readonly casAddress: string;
  readonly name: string;
  readonly namespace?: string | undefined;
}

/** The manifest of a policy resource, named as the target says. */
const policyManifest = <Kind extends string, Spec>(
  kind: Kind,
  target: ManifestTarget,
  spec: Spec,
): PolicyManifest<Kind, Spec> => ({
  apiVersion: API_VERSION,
  kind,
  metadata: { name: target.name, ...(target.namespace ? { namespace: target.namespace } : {}) },
  spec,
});

/** legacy lib.rs (SCONE-CLI §6): policy = session, signatures = signatures. */
export const signedPolicyManifest = (
  signed: SignedSessionJson,
  target: ManifestTarget,
): PolicyManifest<"SignedPolicy", SignedPolicySpec> =>
  policyManifest("SignedPolicy", target, {
    casAddress: target.casAddress,
    policy: signed.session,
    signatures: signed.signatures.map((s) => ({ signer: s.signer, signature: s.signature })),
  });

/** legacy lib.rs (SCONE-CLI §6): policy = encrypted_session, encryptionKey = encryption_key. */
export const encryptedPolicyManifest = (
  encrypted: EncryptedSessionJson,
  target: ManifestTarget,
): PolicyManifest<"EncryptedPolicy", EncryptedPolicySpec> =>
  policyManifest("EncryptedPolicy", target, {
    casAddress: target.casAddress,
    encryptionKey: encrypted.encryption_key,
    policy: encrypted.encrypted_session,
  });

/** YAML (block scalars keep the text; checked by parsing it back, else double-quoted) or JSON. */
export async function renderManifest(
  manifest: PolicyManifest<string, { policy: string }>,
  format: ManifestFormat,
): Promise<string> {
  if (format === "json") return `${JSON.stringify(manifest, null, 2)}\n`;
  const { parse, stringify } = await import("yaml");
  const plain = stringify(manifest, { lineWidth: 0 });
  const back = parse(plain) as { spec?: { policy?: unknown } } | null;
  if (back?.spec?.policy === manifest.spec.policy) return plain;
  return stringify(manifest, { lineWidth: 0, defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
}
