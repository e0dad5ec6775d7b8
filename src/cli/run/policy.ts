// `scone policy sign|encrypt|verify`: SignedPolicy / EncryptedPolicy manifests made locally with the owner identity
// (the job of SCONE's `scone session sign|encrypt`; JSON shapes per scontain/scone_cli_crate). Nothing here talks
// to a cluster or a CAS: the keys come from the CLI config (`--identity`, default $SCONE_CLI_CONFIG or
// ~/.cas/config.json), whose private parts are never printed.
import { homedir } from "node:os";
import { join } from "node:path";
import type { CliConfig } from "../../cas/identity.ts";
import type { EncryptedPolicySpec, SignedPolicySpec } from "../../resources/policies.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

const API_VERSION = "cas.scone.cloud/v1beta1";
const CAS_CLIENT_PORT = 8081;

export type ManifestFormat = "yaml" | "json";

export interface PolicyManifest<Kind extends string, Spec> {
  apiVersion: string;
  kind: Kind;
  metadata: { name: string; namespace?: string };
  spec: Spec;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function defaultIdentityPath(env: Record<string, string | undefined> = process.env): string {
  return env.SCONE_CLI_CONFIG ?? join(homedir(), ".cas", "config.json");
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

/** `--cas-address`, else `https://NAME.NS:8081` from `--cas` / `-n`, else the identity's default CAS. */
export function casAddressOf(
  flags: { casAddress?: string | undefined; cas?: string | undefined; namespace?: string | undefined },
  config?: Pick<CliConfig, "default_cas" | "cas_db">,
): string {
  if (flags.casAddress) {
    let url: URL;
    try {
      url = new URL(flags.casAddress);
    } catch {
      throw new CliError(
        `invalid value '${flags.casAddress}' for --cas-address: expected a URL such as https://cas.my-ns:8081`,
      );
    }
    if (url.protocol !== "https:") {
      throw new CliError(`invalid value '${flags.casAddress}' for --cas-address: the CAS client API is https://`);
    }
    return flags.casAddress.replace(/\/+$/, "");
  }
  if (flags.cas) return `https://${flags.cas}.${flags.namespace ?? "default"}:${CAS_CLIENT_PORT}`;
  const fallback = config?.default_cas;
  if (fallback) return (config?.cas_db[fallback]?.url ?? fallback).replace(/\/+$/, "");
  throw new CliError("no CAS given", EXIT_USAGE, "Give --cas-address URL, or --cas NAME -n NAMESPACE.");
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Bun.file(path).text();
  } catch (err) {
    throw new CliError(`${what} ${path}: cannot read (${err instanceof Error ? err.message : String(err)})`);
  }
}

async function loadIdentity(path: string): Promise<CliConfig> {
  const { readCliConfig } = await import("../../cas/identity.ts");
  try {
    return await readCliConfig(path);
  } catch (err) {
    throw new CliError(
      err instanceof Error ? err.message : String(err),
      1,
      "Give the owner identity with --identity FILE.",
    );
  }
}

async function sessionOf(text: string, path: string): Promise<{ name: string; creatorSigner: string | undefined }> {
  const { parseSession, SessionFormatError } = await import("../../cas/session.ts");
  try {
    const doc = parseSession(text);
    return { name: doc.name, creatorSigner: doc.creatorSigner };
  } catch (err) {
    if (err instanceof SessionFormatError) throw new CliError(`${path}: ${err.message}`);
    throw err;
  }
}

// --- sign ------------------------------------------------------------------------------------------------------------

/** What both manifests are made from. */
export interface ManifestInput {
  /** The session text (signed byte for byte / encrypted as given). */
  readonly text: string;
  readonly casAddress: string;
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
  /** The file name, for messages. */
  readonly source?: string;
}

const metadataOf = (input: ManifestInput, sessionName: string) => ({
  name: input.name ?? resourceNameOf(sessionName),
  ...(input.namespace ? { namespace: input.namespace } : {}),
});

export interface SignInput extends ManifestInput {
  readonly config: CliConfig;
}

/**
 * The signed-session envelope of `text` (refused when creator.signer names another key). [inferred] The signed message
 * and signer string are scone's own; SCONE's way is `scone session sign` (CLI §6; table.ts policy-sign-local, OPEN).
 */
async function signedSessionOf(text: string, config: CliConfig, source: string) {
  const { sessionSigner, sessionSigningSeed } = await import("../../cas/identity.ts");
  const { signSession } = await import("../../cas/session.ts");
  const session = await sessionOf(text, source);
  const signer = await sessionSigner(config);
  if (session.creatorSigner !== undefined && session.creatorSigner !== signer) {
    throw new CliError(
      `creator.signer is ${session.creatorSigner}, but this identity signs as ${signer}`,
      1,
      "Sign with the identity named in creator.signer, or change creator.signer to the output of `scone self show-session-signing-key`.",
    );
  }
  return { name: session.name, signed: await signSession(text, sessionSigningSeed(config)) };
}

export async function signedPolicyManifest(
  input: SignInput,
): Promise<PolicyManifest<"SignedPolicy", SignedPolicySpec>> {
  const { name, signed } = await signedSessionOf(input.text, input.config, input.source ?? "policy");
  return {
    apiVersion: API_VERSION,
    kind: "SignedPolicy",
    metadata: metadataOf(input, name),
    spec: { casAddress: input.casAddress, policy: signed.session, signatures: [...signed.signatures] },
  };
}

// --- encrypt ---------------------------------------------------------------------------------------------------------

export interface EncryptInput extends ManifestInput {
  readonly encryptionKey: string;
  /** Seal the signed-session JSON `{session, signatures}` (signed with this identity) instead of the bare text. */
  readonly signWith?: CliConfig | undefined;
}

export async function encryptedPolicyManifest(
  input: EncryptInput,
): Promise<PolicyManifest<"EncryptedPolicy", EncryptedPolicySpec>> {
  // [inferred] scone's own sealed-box layout; SCONE's way is `scone session encrypt` (CLI §6; table.ts policy-sign-local).
  const { sealToKey } = await import("../../cas/crypto.ts");
  const source = input.source ?? "policy";
  const session = input.signWith
    ? await signedSessionOf(input.text, input.signWith, source)
    : { name: (await sessionOf(input.text, source)).name, signed: undefined };
  if (!/^[0-9a-fA-F]{64}$/.test(input.encryptionKey)) {
    throw new CliError(
      `invalid encryption key '${input.encryptionKey}': expected 64 hex characters (scone cas show-identification --session-encryption-key)`,
    );
  }
  const key = input.encryptionKey.toLowerCase();
  return {
    apiVersion: API_VERSION,
    kind: "EncryptedPolicy",
    metadata: metadataOf(input, session.name),
    spec: {
      casAddress: input.casAddress,
      encryptionKey: key,
      policy: await sealToKey(session.signed ? JSON.stringify(session.signed) : input.text, key),
    },
  };
}

// --- rendering -------------------------------------------------------------------------------------------------------

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

// --- verify ----------------------------------------------------------------------------------------------------------

export interface ManifestVerdict {
  readonly kind: string;
  readonly name: string;
  readonly ok: boolean;
  /** Valid signers (SignedPolicy). */
  readonly signers: readonly string[];
  readonly problems: readonly { readonly reason: string; readonly signer?: string; readonly message: string }[];
}

export interface VerifyManifestOptions {
  /** When given, every signer must be one of these. */
  readonly trustedSigners?: readonly string[];
  /** When given, an EncryptedPolicy's key must be this one. */
  readonly encryptionKey?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Verifies every SignedPolicy / EncryptedPolicy document in a manifest text (YAML or JSON, one or more documents). */
export async function verifyManifestText(
  text: string,
  options: VerifyManifestOptions = {},
): Promise<ManifestVerdict[]> {
  const { parseAllDocuments } = await import("yaml");
  const { verifySignedPolicy, checkEncryptedPolicyFormat, encryptionKeyProblem } = await import(
    "../../operator/policies/verify.ts"
  );
  const verdicts: ManifestVerdict[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new CliError(`not valid YAML/JSON: ${doc.errors[0]?.message ?? "parse error"}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isRecord(value)) throw new CliError("expected a SignedPolicy or EncryptedPolicy manifest (a mapping)");
    const kind = typeof value.kind === "string" ? value.kind : "";
    const name = isRecord(value.metadata) && typeof value.metadata.name === "string" ? value.metadata.name : "";
    const spec = isRecord(value.spec) ? value.spec : {};
    if (kind === "SignedPolicy") {
      const result = await verifySignedPolicy(
        spec as Partial<SignedPolicySpec>,
        options.trustedSigners ? { trustedSigners: options.trustedSigners } : {},
      );
      verdicts.push({ kind, name, ok: result.ok, signers: result.signers, problems: result.problems });
    } else if (kind === "EncryptedPolicy") {
      const problems = checkEncryptedPolicyFormat(spec as Partial<EncryptedPolicySpec>);
      const wrong =
        options.encryptionKey && problems.length === 0
          ? encryptionKeyProblem(spec as unknown as EncryptedPolicySpec, options.encryptionKey)
          : undefined;
      const all = wrong ? [...problems, wrong] : problems;
      verdicts.push({ kind, name, ok: all.length === 0, signers: [], problems: all });
    } else {
      throw new CliError(
        `kind '${kind || "(none)"}' is not a policy: expected SignedPolicy or EncryptedPolicy (cas.scone.cloud/v1beta1)`,
      );
    }
  }
  if (verdicts.length === 0) throw new CliError("the file holds no SignedPolicy or EncryptedPolicy");
  return verdicts;
}

export function renderVerdicts(verdicts: readonly ManifestVerdict[]): string {
  return verdicts
    .map((v) => {
      const head = `${v.kind} ${v.name || "(unnamed)"}`;
      if (v.ok) {
        return v.kind === "SignedPolicy"
          ? `${head}: valid — signed by ${v.signers.join(", ")}`
          : `${head}: valid — encryption key and sealed session well-formed`;
      }
      return [`${head}: INVALID`, ...v.problems.map((p) => `  - ${p.message}`)].join("\n");
    })
    .join("\n")
    .concat("\n");
}

// --- command shells ----------------------------------------------------------------------------------------------------

function policyFile(ctx: SconeContext): string {
  const path = str(ctx.args.file) ?? str(ctx.args.filename);
  if (!path) throw new CliError("missing the policy file", EXIT_USAGE, "Give it as FILE or with --filename FILE.");
  return path;
}

const formatOf = (ctx: SconeContext): ManifestFormat => (ctx.args.output === "json" ? "json" : "yaml");

/** The policy text and where the manifest points, from the flags. */
async function targetOf(ctx: SconeContext, path: string, config: CliConfig | undefined): Promise<ManifestInput> {
  const namespace = str(ctx.args.namespace);
  return {
    text: await readText(path, "policy file"),
    casAddress: casAddressOf({ casAddress: str(ctx.args["cas-address"]), cas: str(ctx.args.cas), namespace }, config),
    name: str(ctx.args.name),
    namespace,
    source: path,
  };
}

export async function sign(ctx: SconeContext): Promise<void> {
  const path = policyFile(ctx);
  const config = await loadIdentity(str(ctx.args.identity) ?? defaultIdentityPath());
  const manifest = await signedPolicyManifest({
    config,
    ...(await targetOf(ctx, path, config)),
  });
  process.stdout.write(await renderManifest(manifest, formatOf(ctx)));
}

export async function encrypt(ctx: SconeContext): Promise<void> {
  const path = policyFile(ctx);
  const given = str(ctx.args["encryption-key"]);
  const identityPath = str(ctx.args.identity);
  // The identity is needed only to look the key (and a default CAS) up; --encryption-key alone suffices.
  const signed = ctx.args.sign === true;
  const config =
    given && !identityPath && !signed ? undefined : await loadIdentity(identityPath ?? defaultIdentityPath());
  const target = await targetOf(ctx, path, config);
  const casAddress = target.casAddress;
  let key = given;
  if (!key && config) {
    const { sameCasAddress } = await import("../../operator/policies/address.ts");
    // The identity's cas_db entry for the address (by key or by url) holds the attested CAS's key.
    key = Object.entries(config.cas_db).find(
      ([address, entry]) => sameCasAddress(address, casAddress) || sameCasAddress(entry.url, casAddress),
    )?.[1].session_encryption_key;
  }
  if (!key) {
    throw new CliError(
      `no session encryption key known for ${casAddress}`,
      1,
      "Give --encryption-key HEX (scone cas show-identification --session-encryption-key), or attest that CAS with this identity.",
    );
  }
  const manifest = await encryptedPolicyManifest({
    ...target,
    encryptionKey: key,
    signWith: signed ? config : undefined,
  });
  process.stdout.write(await renderManifest(manifest, formatOf(ctx)));
}

export async function verify(ctx: SconeContext): Promise<void> {
  const path = policyFile(ctx);
  const identityPath = str(ctx.args.identity);
  let trustedSigners: string[] | undefined;
  if (identityPath) {
    const { sessionSigner } = await import("../../cas/identity.ts");
    trustedSigners = [await sessionSigner(await loadIdentity(identityPath))];
  }
  const encryptionKey = str(ctx.args["encryption-key"]);
  const verdicts = await verifyManifestText(await readText(path, "manifest"), {
    ...(trustedSigners ? { trustedSigners } : {}),
    ...(encryptionKey ? { encryptionKey } : {}),
  });
  process.stdout.write(isData(ctx.args.output) ? renderData(ctx.args.output, verdicts) : renderVerdicts(verdicts));
  const bad = verdicts.filter((v) => !v.ok);
  if (bad.length > 0) {
    const signers = [...new Set(bad.flatMap((v) => v.problems.flatMap((p) => (p.signer ? [p.signer] : []))))];
    throw new CliError(
      `${bad.length} of ${verdicts.length} ${verdicts.length === 1 ? "policy is" : "policies are"} invalid${
        signers.length > 0 ? ` (signer ${signers.join(", ")})` : ""
      }`,
    );
  }
}
