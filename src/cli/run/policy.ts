// `scone policy sign|encrypt|verify`: SignedPolicy / EncryptedPolicy manifests in SCONE's own formats, made by the
// SCONE CLI (`session sign`, `session encrypt`, `session check`: SCONE-CLI §3, §6) through the CAS driver with the
// owner's CLI config (`--target`, src/cli/run/policy-driver.ts). scone signs, seals and verifies nothing itself: the
// manifest is built from the CLI's JSON as upstream's legacy lib.rs does (SCONE-CLI §6), and whether a signature is
// valid and trusted is decided by CAS when it creates the session.
import type { CasDriver } from "../../cas/driver/driver.ts";
import type { EncryptedPolicySpec, SignedPolicySpec } from "../../resources/policies.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";
import type { PolicyDriver } from "./policy-driver.ts";

const API_VERSION = "cas.scone.cloud/v1beta1";
const CAS_CLIENT_PORT = 8081;
/** CLI §5: a session encryption key is 64 hex characters. */
const ENCRYPTION_KEY = /^[0-9a-fA-F]{64}$/;

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

function isRecord(value: unknown): value is Record<string, unknown> {
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

/** `--cas-address`, else `https://NAME.NS:8081` from `--cas` / `-n`. */
export function casAddressOf(flags: {
  casAddress?: string | undefined;
  cas?: string | undefined;
  namespace?: string | undefined;
}): string {
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
  throw new CliError("no CAS given", EXIT_USAGE, "Give --cas-address URL, or --cas NAME -n NAMESPACE.");
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

// --- the CLI's JSON → manifests (pure) --------------------------------------------------------------------------------

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
    throw new CliError(`the SCONE CLI's \`${command}\` printed no JSON object (SCONE-CLI §6); nothing was written`);
  }
  if (!isRecord(value)) throw new CliError(`the SCONE CLI's \`${command}\` printed JSON that is not an object`);
  return value;
}

export function parseSignedSession(stdout: string): SignedSessionJson {
  const v = cliJson(stdout, "session sign");
  const sigs = v.signatures;
  if (typeof v.session !== "string" || v.session === "")
    throw new CliError("the SCONE CLI's `session sign` output has no `session` string (SCONE-CLI §6)");
  if (
    !Array.isArray(sigs) ||
    sigs.length === 0 ||
    !sigs.every((s) => isRecord(s) && typeof s.signer === "string" && typeof s.signature === "string")
  )
    throw new CliError(
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
    throw new CliError("the SCONE CLI's `session encrypt` output has no `encrypted_session` string (SCONE-CLI §6)");
  if (typeof v.encryption_key !== "string" || !ENCRYPTION_KEY.test(v.encryption_key))
    throw new CliError("the SCONE CLI's `session encrypt` output has no 64-hex `encryption_key` (SCONE-CLI §6)");
  return { encrypted_session: v.encrypted_session, encryption_key: v.encryption_key };
}

/** Where the manifest points and what it is called. */
export interface ManifestTarget {
  readonly casAddress: string;
  readonly name: string;
  readonly namespace?: string | undefined;
}

const metadataOf = (t: ManifestTarget) => ({ name: t.name, ...(t.namespace ? { namespace: t.namespace } : {}) });

/** legacy lib.rs (SCONE-CLI §6): policy = session, signatures = signatures. */
export function signedPolicyManifest(
  signed: SignedSessionJson,
  target: ManifestTarget,
): PolicyManifest<"SignedPolicy", SignedPolicySpec> {
  return {
    apiVersion: API_VERSION,
    kind: "SignedPolicy",
    metadata: metadataOf(target),
    spec: {
      casAddress: target.casAddress,
      policy: signed.session,
      signatures: signed.signatures.map((s) => ({ signer: s.signer, signature: s.signature })),
    },
  };
}

/** legacy lib.rs (SCONE-CLI §6): policy = encrypted_session, encryptionKey = encryption_key. */
export function encryptedPolicyManifest(
  encrypted: EncryptedSessionJson,
  target: ManifestTarget,
): PolicyManifest<"EncryptedPolicy", EncryptedPolicySpec> {
  return {
    apiVersion: API_VERSION,
    kind: "EncryptedPolicy",
    metadata: metadataOf(target),
    spec: {
      casAddress: target.casAddress,
      encryptionKey: encrypted.encryption_key,
      policy: encrypted.encrypted_session,
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
    if (doc.errors.length > 0) throw new CliError(`not valid YAML/JSON: ${doc.errors[0]?.message ?? "parse error"}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isRecord(value)) throw new CliError("expected a SignedPolicy or EncryptedPolicy manifest (a mapping)");
    const kind = typeof value.kind === "string" ? value.kind : "";
    const name = isRecord(value.metadata) && typeof value.metadata.name === "string" ? value.metadata.name : "";
    const spec = isRecord(value.spec) ? value.spec : {};
    if (kind === "SignedPolicy") verdicts.push({ kind, name, ...(await signedVerdict(spec, checker)) });
    else if (kind === "EncryptedPolicy")
      verdicts.push({ kind, name, ...encryptedVerdict(spec, options.encryptionKey) });
    else
      throw new CliError(
        `kind '${kind || "(none)"}' is not a policy: expected SignedPolicy or EncryptedPolicy (cas.scone.cloud/v1beta1)`,
      );
  }
  if (verdicts.length === 0) throw new CliError("the file holds no SignedPolicy or EncryptedPolicy");
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

// --- command shells ----------------------------------------------------------------------------------------------------

function policyFile(ctx: SconeContext): string {
  const path = str(ctx.args.file) ?? str(ctx.args.filename);
  if (!path) throw new CliError("missing the policy file", EXIT_USAGE, "Give it as FILE or with --filename FILE.");
  return path;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Bun.file(path).text();
  } catch (err) {
    throw new CliError(`${what} ${path}: cannot read (${err instanceof Error ? err.message : String(err)})`);
  }
}

const formatOf = (ctx: SconeContext): ManifestFormat => (ctx.args.output === "json" ? "json" : "yaml");

/** metadata and casAddress from the flags; the name from --name, else the session's own name. */
async function targetOf(ctx: SconeContext, sessionText: string, path: string): Promise<ManifestTarget> {
  const namespace = str(ctx.args.namespace);
  const casAddress = casAddressOf({ casAddress: str(ctx.args["cas-address"]), cas: str(ctx.args.cas), namespace });
  const given = str(ctx.args.name);
  const sessionName = given ? undefined : await sessionNameOf(sessionText);
  if (!given && !sessionName)
    throw new CliError(`${path}: the session has no name`, 1, "Give metadata.name with --name NAME.");
  return { casAddress, name: given ?? resourceNameOf(sessionName ?? ""), namespace };
}

/** Runs `use` with the driver, releasing it after; driver failures become CliErrors naming the CLI. */
async function withDriver<T>(ctx: SconeContext, use: (d: PolicyDriver) => Promise<T>): Promise<T> {
  const { openPolicyDriver } = await import("./policy-driver.ts");
  const opened = await openPolicyDriver(ctx.args);
  try {
    return await use(opened);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`SCONE CLI: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await opened.release();
  }
}

export async function sign(ctx: SconeContext): Promise<void> {
  const path = policyFile(ctx);
  const text = await readText(path, "policy file");
  const target = await targetOf(ctx, text, path);
  const out = await withDriver(ctx, ({ driver }) => driver.signSession(text));
  process.stdout.write(await renderManifest(signedPolicyManifest(parseSignedSession(out), target), formatOf(ctx)));
}

export async function encrypt(ctx: SconeContext): Promise<void> {
  const path = policyFile(ctx);
  const text = await readText(path, "policy file");
  const target = await targetOf(ctx, text, path);
  const key = str(ctx.args["encryption-key"]);
  // --key KEY, else in the sconecli pod the CAS by its Service (as the owner's config attested it), else the
  // local CLI config's default CAS (SCONE-CLI §6).
  const out = await withDriver(ctx, ({ driver, podCasAddress }) =>
    key ? driver.encryptSession(text, undefined, key) : driver.encryptSession(text, podCasAddress),
  );
  process.stdout.write(
    await renderManifest(encryptedPolicyManifest(parseEncryptedSession(out), target), formatOf(ctx)),
  );
}

export async function verify(ctx: SconeContext): Promise<void> {
  const path = policyFile(ctx);
  const encryptionKey = str(ctx.args["encryption-key"]);
  let opened: PolicyDriver | undefined;
  let verdicts: ManifestVerdict[];
  try {
    verdicts = await verifyManifestText(
      await readText(path, "manifest"),
      async () => {
        opened ??= await (await import("./policy-driver.ts")).openPolicyDriver(ctx.args);
        return opened.driver;
      },
      encryptionKey ? { encryptionKey } : {},
    );
  } finally {
    await opened?.release();
  }
  process.stdout.write(isData(ctx.args.output) ? renderData(ctx.args.output, verdicts) : renderVerdicts(verdicts));
  const bad = verdicts.filter((v) => !v.ok);
  if (bad.length > 0)
    throw new CliError(
      `${bad.length} of ${verdicts.length} ${verdicts.length === 1 ? "policy is" : "policies are"} not well-formed`,
    );
}
