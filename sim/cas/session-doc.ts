// How the simulated CAS reads a session it is given (session language v0.3, sconedocs CAS_session_lang_0_3 and
// namespace; README rows "Session names", "Access policies", "Session hash", "Signed sessions"): the name and its
// namespace, predecessor, access policy, creator signer, secrets and service environments. Everything else in a
// session is kept as text and not interpreted.
import { parse, parseDocument } from "yaml";
import { canonicalJson, hex, sha256 } from "./codec.ts";

export class SessionFormatError extends Error {
  override readonly name = "SessionFormatError";
}

export interface SessionSecret {
  readonly name: string;
  readonly kind: string;
  readonly size?: number;
  readonly value?: string;
  readonly exportPublic: boolean;
}

export interface AccessPolicy {
  readonly read: readonly string[];
  readonly update: readonly string[];
  readonly createSessions: readonly string[];
}

export interface ParsedSession {
  readonly name: string;
  /** Hash of the version this one replaces; null when creating. */
  readonly predecessor: string | null;
  readonly accessPolicy: AccessPolicy;
  readonly creatorSigner: string | undefined;
  readonly secrets: readonly SessionSecret[];
  readonly services: readonly { readonly name: string; readonly environment: Record<string, string> }[];
}

/** One signature of a signed session (`scone session sign` JSON). */
export interface SessionSignature {
  readonly signer: string;
  /** Ed25519 over the exact UTF-8 session text, 128 hex. */
  readonly signature: string;
}

type Mapping = Record<string, unknown>;
const isMapping = (v: unknown): v is Mapping => typeof v === "object" && v !== null && !Array.isArray(v);
const absent = (v: unknown): v is null | undefined => v === undefined || v === null;

function yamlMapping(text: string): Mapping {
  let doc: unknown;
  try {
    doc = parse(text, { logLevel: "error" });
  } catch (err) {
    throw new SessionFormatError(`session: not valid YAML (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isMapping(doc)) throw new SessionFormatError("session: expected a YAML mapping at the top level");
  return doc;
}

function checkName(name: string): void {
  if (name === "") throw new SessionFormatError("name: must not be empty");
  if (name.split("/").some((part) => !/^[A-Za-z0-9_\-.~]{1,128}$/.test(part))) {
    throw new SessionFormatError(
      `name: "${name}" is invalid — each "/"-separated part must be 1-128 characters of A-Z a-z 0-9 _ - . ~`,
    );
  }
}

/** `a/b/c` lives in namespace `a/b`; a name without `/` in none. */
export function namespaceOf(name: string): string | undefined {
  const cut = name.lastIndexOf("/");
  return cut < 0 ? undefined : name.slice(0, cut);
}

function predecessorOf(value: unknown): string | null {
  if (absent(value) || value === "" || value === "~") return null;
  const hash = typeof value === "string" ? value.toLowerCase() : undefined;
  if (hash === undefined || !/^[0-9a-f]{64}$/.test(hash)) {
    throw new SessionFormatError("predecessor: expected the 64-hex hash of the current session version, or ~");
  }
  return hash;
}

function policyList(value: unknown, field: string): string[] | undefined {
  if (absent(value)) return undefined;
  if (!Array.isArray(value)) throw new SessionFormatError(`${field}: expected a list`);
  return value.map((entry: unknown, i) => {
    if (typeof entry === "string") return entry;
    // `{signer: PEM}` is kept as "signer:PEM" for the access check to resolve.
    if (isMapping(entry) && typeof entry.signer === "string") return `signer:${entry.signer}`;
    throw new SessionFormatError(`${field}[${i}]: expected a key hash, CREATOR, ANY, NONE or {signer: PEM}`);
  });
}

function accessPolicyOf(value: unknown): AccessPolicy {
  if (!absent(value) && !isMapping(value)) {
    throw new SessionFormatError("access_policy: expected a mapping with read / update / create_sessions");
  }
  const policy: Mapping = isMapping(value) ? value : {};
  // Without a list only the creator may act; create_sessions defaults to the update list (sconedocs namespace).
  const read = policyList(policy.read, "access_policy.read") ?? ["CREATOR"];
  const update = policyList(policy.update, "access_policy.update") ?? ["CREATOR"];
  const createSessions = policyList(policy.create_sessions, "access_policy.create_sessions") ?? update;
  return { read, update, createSessions };
}

function secretsOf(value: unknown): SessionSecret[] {
  if (absent(value)) return [];
  if (!Array.isArray(value)) throw new SessionFormatError("secrets: expected a list");
  return value.map((entry: unknown, i) => {
    if (!isMapping(entry) || typeof entry.name !== "string")
      throw new SessionFormatError(`secrets[${i}].name: required`);
    const kind = entry.kind === undefined ? "ascii" : entry.kind;
    if (typeof kind !== "string") throw new SessionFormatError(`secrets[${i}].kind: expected a string`);
    const { size } = entry;
    if (size !== undefined && (typeof size !== "number" || size < 1)) {
      throw new SessionFormatError(`secrets[${i}].size: expected a positive number`);
    }
    return {
      name: entry.name,
      kind,
      exportPublic: entry.export_public === true,
      ...(typeof size === "number" ? { size } : {}),
      ...(entry.value !== undefined ? { value: String(entry.value) } : {}),
    };
  });
}

function servicesOf(value: unknown): ParsedSession["services"] {
  if (absent(value)) return [];
  if (!Array.isArray(value)) throw new SessionFormatError("services: expected a list");
  return value.map((entry: unknown, i) => {
    if (!isMapping(entry) || typeof entry.name !== "string") {
      throw new SessionFormatError(`services[${i}].name: required`);
    }
    const env = isMapping(entry.environment) ? entry.environment : {};
    return { name: entry.name, environment: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) };
  });
}

/** Reads a session text; SessionFormatError names the field that is wrong. */
export function readSession(text: string): ParsedSession {
  const doc = yamlMapping(text);
  if (typeof doc.name !== "string") throw new SessionFormatError("name: required (a string)");
  checkName(doc.name);
  const accessPolicy = accessPolicyOf(doc.access_policy);
  let creatorSigner: string | undefined;
  if (!absent(doc.creator)) {
    if (!isMapping(doc.creator) || typeof doc.creator.signer !== "string") {
      throw new SessionFormatError("creator.signer: expected the signer string of the session-signing key");
    }
    creatorSigner = doc.creator.signer;
  }
  return {
    name: doc.name,
    predecessor: predecessorOf(doc.predecessor),
    accessPolicy,
    creatorSigner,
    secrets: secretsOf(doc.secrets),
    services: servicesOf(doc.services),
  };
}

/**
 * The session hash (README "Session hash"; SCONE keeps its own algorithm unpublished): sha256 of the canonical JSON
 * of the parsed YAML with `predecessor` normalised (absent, empty and ~ all read as null), 64 hex.
 */
export function hashOfSession(text: string): string {
  const doc = yamlMapping(text);
  return hex(sha256(canonicalJson({ ...doc, predecessor: predecessorOf(doc.predecessor) })));
}

/** The `{session, signatures}` envelope of a signed session, when `value` is one. */
export function signedEnvelope(
  value: unknown,
): { session: string; signatures: readonly SessionSignature[] } | undefined {
  if (!isMapping(value) || typeof value.session !== "string" || !Array.isArray(value.signatures)) return undefined;
  const signatures: unknown[] = value.signatures;
  const wellFormed = (s: unknown): s is SessionSignature =>
    isMapping(s) && typeof s.signer === "string" && typeof s.signature === "string";
  if (!signatures.every(wellFormed)) return undefined;
  return { session: value.session, signatures };
}

/** The session text with `predecessor` set (what `session update` fills in when the body names none). */
export function withPredecessor(text: string, hash: string): string {
  const doc = parseDocument(text);
  doc.set("predecessor", hash);
  return doc.toString();
}
