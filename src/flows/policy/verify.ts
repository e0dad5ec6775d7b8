// `scone policy verify`: the documented format of every SignedPolicy / EncryptedPolicy document. A SignedPolicy's
// signed-session JSON goes to the SCONE CLI's `session check` (SCONE-CLI §3); whether its signatures are valid and
// trusted is decided by CAS when it creates the session, never here.
import type { CasDriver } from "../../cas/driver/driver.ts";
import { PolicyDocumentError } from "./errors.ts";
import { ENCRYPTION_KEY, isRecord } from "./manifest.ts";

export interface ManifestVerdict {
  readonly kind: string;
  readonly name: string;
  /** The documented format holds (SignedPolicy: `session check` passed). Not a trust decision: that is CAS's. */
  readonly ok: boolean;
  /** The signers the manifest names (SignedPolicy), unverified: CAS checks them when it creates the session. */
  readonly signers: readonly string[];
  readonly problems: readonly { readonly reason: string; readonly message: string }[];
}

/**
 * Format checks of every SignedPolicy / EncryptedPolicy document (YAML or JSON, one or more). A SignedPolicy's
 * signed-session JSON goes to `session check` (the CLI, SCONE-CLI §3); an EncryptedPolicy is checked for the
 * documented fields only (its content is for the target CAS alone). `checker` is opened only for a SignedPolicy.
 */
export async function verifyManifestText(
  text: string,
  checker: () => Promise<Pick<CasDriver, "validateSession">>,
  options: { readonly encryptionKey?: string } = {},
): Promise<ManifestVerdict[]> {
  const { parseAllDocuments } = await import("yaml");
  const verdicts: ManifestVerdict[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new PolicyDocumentError(`not valid YAML/JSON: ${doc.errors[0]?.message ?? "parse error"}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isRecord(value))
      throw new PolicyDocumentError("expected a SignedPolicy or EncryptedPolicy manifest (a mapping)");
    const kind = typeof value.kind === "string" ? value.kind : "";
    const name = isRecord(value.metadata) && typeof value.metadata.name === "string" ? value.metadata.name : "";
    const spec = isRecord(value.spec) ? value.spec : {};
    if (kind === "SignedPolicy") verdicts.push({ kind, name, ...(await signedVerdict(spec, checker)) });
    else if (kind === "EncryptedPolicy")
      verdicts.push({ kind, name, ...encryptedVerdict(spec, options.encryptionKey) });
    else
      throw new PolicyDocumentError(
        `kind '${kind || "(none)"}' is not a policy: expected SignedPolicy or EncryptedPolicy (cas.scone.cloud/v1beta1)`,
      );
  }
  if (verdicts.length === 0) throw new PolicyDocumentError("the file holds no SignedPolicy or EncryptedPolicy");
  return verdicts;
}

type Verdict = Omit<ManifestVerdict, "kind" | "name">;

async function signedVerdict(
  spec: Record<string, unknown>,
  checker: () => Promise<Pick<CasDriver, "validateSession">>,
): Promise<Verdict> {
  const sigs = Array.isArray(spec.signatures) ? spec.signatures : [];
  const signatures = sigs.filter(
    (s): s is { signer: string; signature: string } =>
      isRecord(s) && typeof s.signer === "string" && typeof s.signature === "string",
  );
  const problems: { reason: string; message: string }[] = [];
  if (typeof spec.policy !== "string" || spec.policy === "")
    problems.push({ reason: "policy", message: "spec.policy: missing (the signed session's `session`)" });
  if (signatures.length === 0 || signatures.length !== sigs.length)
    problems.push({ reason: "signatures", message: "spec.signatures: expected a list of {signer, signature}" });
  const signers = signatures.map((s) => s.signer);
  if (problems.length > 0) return { ok: false, signers, problems };
  // The signed-session JSON as `session sign` prints it (SCONE-CLI §6), built as an object and serialized once.
  const body = JSON.stringify({
    session: spec.policy,
    signatures: signatures.map((s) => ({ signer: s.signer, signature: s.signature })),
  });
  const refusal = await (await checker()).validateSession(body);
  return refusal === null
    ? { ok: true, signers, problems: [] }
    : { ok: false, signers, problems: [{ reason: "session-check", message: `scone session check: ${refusal}` }] };
}

function encryptedVerdict(spec: Record<string, unknown>, expectedKey: string | undefined): Verdict {
  const problems: { reason: string; message: string }[] = [];
  const key = spec.encryptionKey;
  if (typeof key !== "string" || !ENCRYPTION_KEY.test(key))
    problems.push({ reason: "encryptionKey", message: "spec.encryptionKey: expected 64 hexadecimal characters" });
  else if (expectedKey && key.toLowerCase() !== expectedKey.toLowerCase())
    problems.push({
      reason: "encryptionKey",
      message: `spec.encryptionKey ${key} is not the session encryption key ${expectedKey} (--encryption-key)`,
    });
  if (typeof spec.policy !== "string" || spec.policy === "")
    problems.push({ reason: "policy", message: "spec.policy: missing (the encrypted session)" });
  return { ok: problems.length === 0, signers: [], problems };
}

export function renderVerdicts(verdicts: readonly ManifestVerdict[]): string {
  return verdicts
    .map((v) => {
      const head = `${v.kind} ${v.name || "(unnamed)"}`;
      if (v.ok) {
        return v.kind === "SignedPolicy"
          ? `${head}: well-formed (scone session check); signers ${v.signers.join(", ")} — whether the signatures are valid and trusted is decided by CAS when it creates the session`
          : `${head}: well-formed (encryption key and encrypted session present) — only the target CAS can open and check it`;
      }
      return [`${head}: INVALID`, ...v.problems.map((p) => `  - ${p.message}`)].join("\n");
    })
    .join("\n")
    .concat("\n");
}
