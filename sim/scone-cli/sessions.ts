// Sessions as the stand-in's pretend CAS keeps them. Rules from SCONE-CLI.md §5/§6 and the session language
// summary the CLI note relies on: a name of `[A-Za-z0-9_-.~]` segments joined by `/`; `predecessor` forbidden on
// create; update fills it in when missing and otherwise needs the active hash; CAS sets the creator on upload, so
// `calculate-hash` of a body without a creator differs from the stored session's hash. The hash itself is this
// stand-in's choice (SHA-256 of the stored document as sorted JSON): SCONE calls it an implementation detail.
import { createHash } from "node:crypto";
import { parse, stringify } from "yaml";
import { CliFailure, type StoredVersion, type WorldCas } from "./state.ts";

const SEGMENT = /^[A-Za-z0-9_\-.~]{1,128}$/;
const HASH = /^[0-9a-f]{64}$/;

export type SessionDoc = Record<string, unknown>;

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function hashOf(doc: SessionDoc): string {
  return createHash("sha256")
    .update(JSON.stringify(sorted(doc)))
    .digest("hex");
}

export function isSessionName(name: string): boolean {
  return name.split("/").every((s) => SEGMENT.test(s));
}

/** `session check`: a mapping with a valid name; predecessor, when present, a hash or `~`/empty. */
export function parseSession(text: string): SessionDoc {
  let doc: unknown;
  try {
    doc = text.trimStart().startsWith("{") ? JSON.parse(text) : parse(text);
  } catch (err) {
    throw new CliFailure(`session is not valid YAML/JSON: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new CliFailure("session must be a mapping");
  const d = doc as SessionDoc;
  if (typeof d.name !== "string" || !isSessionName(d.name))
    throw new CliFailure("session: field `name` is missing or invalid");
  const pred = d.predecessor;
  if (
    pred !== undefined &&
    pred !== null &&
    pred !== "" &&
    pred !== "~" &&
    !(typeof pred === "string" && HASH.test(pred))
  ) {
    throw new CliFailure("session: field `predecessor` must be a session hash");
  }
  return d;
}

function hasPredecessor(d: SessionDoc): boolean {
  return typeof d.predecessor === "string" && HASH.test(d.predecessor);
}

function mayAccess(cas: WorldCas, versions: StoredVersion[], caller: string, what: "read" | "update"): boolean {
  const active = versions.at(-1)!;
  const doc = parse(active.body) as SessionDoc;
  const policy = (doc.access_policy as Record<string, unknown> | undefined)?.[what];
  const allowed = Array.isArray(policy) ? policy.map(String) : ["CREATOR"];
  if (allowed.includes("NONE")) return false;
  return (
    (allowed.includes("ANY") ||
      allowed.includes(caller) ||
      (allowed.includes("CREATOR") && active.creator === caller)) &&
    cas.provisioned
  );
}

export function createSession(cas: WorldCas, text: string, caller: string): string {
  const d = parseSession(text);
  if (hasPredecessor(d)) throw new CliFailure("session create: `predecessor` is not allowed for a new session");
  const name = d.name as string;
  if (cas.sessions[name]) throw new CliFailure(`session create: session ${name} exists already; use update`);
  const stored: SessionDoc = { ...d, creator: caller };
  delete stored.predecessor;
  const hash = hashOf(stored);
  cas.sessions[name] = [{ hash, body: stringify(stored), creator: caller }];
  return hash;
}

export function updateSession(cas: WorldCas, text: string, caller: string): string {
  const d = parseSession(text);
  const name = d.name as string;
  const versions = cas.sessions[name];
  if (!versions) throw new CliFailure(`session update: no session ${name}`);
  if (!mayAccess(cas, versions, caller, "update")) throw new CliFailure(`session update: access to ${name} denied`);
  const active = versions.at(-1)!;
  if (hasPredecessor(d) && d.predecessor !== active.hash) {
    throw new CliFailure(`session update: predecessor ${String(d.predecessor)} is not the active version of ${name}`);
  }
  const stored: SessionDoc = { ...d, predecessor: active.hash, creator: active.creator };
  const hash = hashOf(stored);
  versions.push({ hash, body: stringify(stored), creator: active.creator });
  return hash;
}

/** null: no such session (or version) — `session read` exits 2 then. */
export function readSession(cas: WorldCas, name: string, caller: string, hash?: string): string | null {
  const versions = cas.sessions[name];
  if (!versions) return null;
  if (!mayAccess(cas, versions, caller, "read")) throw new CliFailure(`session read: access to ${name} denied`);
  const v = hash === undefined ? versions.at(-1) : versions.find((x) => x.hash === hash);
  return v ? v.body : null;
}

export function listSessions(cas: WorldCas, path: string, caller: string): string[] {
  return Object.keys(cas.sessions)
    .filter((n) => n === path || n.startsWith(`${path}/`))
    .filter((n) => mayAccess(cas, cas.sessions[n]!, caller, "read"))
    .sort();
}
