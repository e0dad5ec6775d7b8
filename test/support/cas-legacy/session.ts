// SCONE session (policy) documents: the parts both scone and the CAS simulator must read the same way — names,
// predecessor, access policy, creator, secrets — plus the session hash and the signed-session envelope.
// Rules from the session language v0.3 reference (sconedocs CAS_session_lang_0_3, namespace); anything else about a
// session is passed through untouched.
import { parse, parseDocument } from "yaml";
import { canonicalJson, ed25519FromSeed, ed25519Sign, sha256Hex, signerOfEd25519 } from "./crypto.ts";

/** One path segment of a session name; `/` separates namespaces (e.g. `cas-owner/primary-backup`). */
const NAME_SEGMENT = /^[A-Za-z0-9_\-.~]{1,128}$/;
const HASH = /^[0-9a-f]{64}$/;

/** Undefined when `name` is a valid session name, else the reason in words. */
export function sessionNameError(name: string): string | undefined {
  if (name.length === 0) return "name: must not be empty";
  for (const segment of name.split("/")) {
    if (!NAME_SEGMENT.test(segment)) {
      return `name: "${name}" is invalid — each "/"-separated part must be 1-128 characters of A-Z a-z 0-9 _ - . ~`;
    }
  }
  return undefined;
}

/** The namespace a session lives in (`a/b/c` → `a/b`), or undefined for a top-level session. */
export function parentNamespace(name: string): string | undefined {
  const slash = name.lastIndexOf("/");
  return slash < 0 ? undefined : name.slice(0, slash);
}

export interface AccessPolicy {
  readonly read: readonly string[];
  readonly update: readonly string[];
  /** Defaults to `update` (sconedocs `namespace`: "If omitted, all entities listed under update …"). */
  readonly createSessions: readonly string[];
}

export interface SessionSecret {
  readonly name: string;
  readonly kind: string;
  readonly size?: number;
  readonly value?: string;
  readonly exportPublic: boolean;
}

/** What the CAS needs to know about a session; the full document stays in `text`. */
export interface SessionDocument {
  readonly text: string;
  readonly name: string;
  readonly version: string | undefined;
  /** Hash of the version this one replaces; null on create. */
  readonly predecessor: string | null;
  readonly accessPolicy: AccessPolicy;
  /** `creator.signer`, when the session names its signer. */
  readonly creatorSigner: string | undefined;
  readonly secrets: readonly SessionSecret[];
  readonly services: readonly { readonly name: string; readonly environment: Record<string, string> }[];
}

export class SessionFormatError extends Error {
  override readonly name = "SessionFormatError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new SessionFormatError(`${field}: expected a list`);
  return value.map((entry, i) => {
    if (typeof entry === "string") return entry;
    // `signer: <PEM>` entries keep their shape as "signer:<PEM>" so access checks can resolve them.
    if (isRecord(entry) && typeof entry.signer === "string") return `signer:${entry.signer}`;
    throw new SessionFormatError(`${field}[${i}]: expected a key hash, CREATOR, ANY, NONE or {signer: PEM}`);
  });
}

function parseYaml(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parse(text, { logLevel: "error" }); // warnings about user text are not ours to print
  } catch (err) {
    throw new SessionFormatError(`session: not valid YAML (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isRecord(doc)) throw new SessionFormatError("session: expected a YAML mapping at the top level");
  return doc;
}

function normalizePredecessor(value: unknown): string | null {
  if (value === undefined || value === null || value === "" || value === "~") return null;
  if (typeof value !== "string" || !HASH.test(value.toLowerCase())) {
    throw new SessionFormatError("predecessor: expected the 64-hex hash of the current session version, or ~");
  }
  return value.toLowerCase();
}

function parseSecrets(value: unknown): SessionSecret[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new SessionFormatError("secrets: expected a list");
  return value.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== "string") {
      throw new SessionFormatError(`secrets[${i}].name: required`);
    }
    const kind = entry.kind === undefined ? "ascii" : entry.kind;
    if (typeof kind !== "string") throw new SessionFormatError(`secrets[${i}].kind: expected a string`);
    if (entry.size !== undefined && (typeof entry.size !== "number" || entry.size < 1)) {
      throw new SessionFormatError(`secrets[${i}].size: expected a positive number`);
    }
    const secret: SessionSecret = {
      name: entry.name,
      kind,
      exportPublic: entry.export_public === true,
      ...(typeof entry.size === "number" ? { size: entry.size } : {}),
      ...(entry.value !== undefined ? { value: String(entry.value) } : {}),
    };
    return secret;
  });
}

function parseServices(value: unknown): SessionDocument["services"] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new SessionFormatError("services: expected a list");
  return value.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== "string") {
      throw new SessionFormatError(`services[${i}].name: required`);
    }
    const environment: Record<string, string> = {};
    if (isRecord(entry.environment)) {
      for (const [k, v] of Object.entries(entry.environment)) environment[k] = String(v);
    }
    return { name: entry.name, environment };
  });
}

/** Reads a session's text; throws SessionFormatError naming the offending field. */
export function parseSession(text: string): SessionDocument {
  const doc = parseYaml(text);
  if (typeof doc.name !== "string") throw new SessionFormatError("name: required (a string)");
  const nameError = sessionNameError(doc.name);
  if (nameError) throw new SessionFormatError(nameError);
  const version = doc.version === undefined ? undefined : String(doc.version);
  const policy = isRecord(doc.access_policy) ? doc.access_policy : {};
  if (doc.access_policy !== undefined && doc.access_policy !== null && !isRecord(doc.access_policy)) {
    throw new SessionFormatError("access_policy: expected a mapping with read / update / create_sessions");
  }
  // Defaults [inferred]: without an access policy only the creator may read and update.
  const read = stringList(policy.read, "access_policy.read") ?? ["CREATOR"];
  const update = stringList(policy.update, "access_policy.update") ?? ["CREATOR"];
  const createSessions = stringList(policy.create_sessions, "access_policy.create_sessions") ?? update;
  let creatorSigner: string | undefined;
  if (doc.creator !== undefined && doc.creator !== null) {
    if (!isRecord(doc.creator) || typeof doc.creator.signer !== "string") {
      throw new SessionFormatError("creator.signer: expected the signer string of the session-signing key");
    }
    creatorSigner = doc.creator.signer;
  }
  return {
    text,
    name: doc.name,
    version,
    predecessor: normalizePredecessor(doc.predecessor),
    accessPolicy: { read, update, createSessions },
    creatorSigner,
    secrets: parseSecrets(doc.secrets),
    services: parseServices(doc.services),
  };
}

/**
 * Session hash (OUR algorithm — SCONE calls its own "an implementation detail" and does not publish it):
 * sha256 over the canonical JSON of the parsed YAML document, as 64 hex characters. Deterministic, independent of
 * formatting/comments/key order, and it covers `predecessor`, so every version in a chain hashes differently.
 */
export function sessionHash(text: string): string {
  const doc = parseYaml(text);
  return sha256Hex(canonicalJson({ ...doc, predecessor: normalizePredecessor(doc.predecessor) }));
}

/** The session text with `predecessor` set to `hash` (or removed for null), keeping the rest of the formatting. */
export function withPredecessor(text: string, hash: string | null): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new SessionFormatError(`session: not valid YAML (${doc.errors[0]?.message})`);
  if (hash === null) doc.delete("predecessor");
  else doc.set("predecessor", normalizePredecessor(hash));
  return doc.toString();
}

// --- signed sessions ---------------------------------------------------------------------------------------------------

export interface SessionSignature {
  readonly signer: string;
  /** Ed25519 over the exact UTF-8 session text, 128 hex characters. */
  readonly signature: string;
}

/** The signed-session JSON of `scone session sign` (fields per scontain/scone_cli_crate). */
export interface SignedSession {
  readonly session: string;
  readonly signatures: readonly SessionSignature[];
}

/** Signs the exact session text with the owner's session-signing seed. */
export async function signSession(text: string, seed: Uint8Array): Promise<SignedSession> {
  const key = await ed25519FromSeed(seed);
  return {
    session: text,
    signatures: [{ signer: signerOfEd25519(key.publicKey), signature: await ed25519Sign(key, text) }],
  };
}

export function isSignedSession(value: unknown): value is SignedSession {
  return (
    isRecord(value) &&
    typeof value.session === "string" &&
    Array.isArray(value.signatures) &&
    value.signatures.every((s) => isRecord(s) && typeof s.signer === "string" && typeof s.signature === "string")
  );
}
