// The CAS's answers, checked field by field before scone uses them: a CAS (or whatever answers on its port) is
// outside input. Each parser returns a value of exactly the documented shape or throws CasError naming the field.
import { CasError } from "./errors.ts";

/** `GET /healthz` [inferred]: liveness plus what an operator's status shows without attesting. */
export interface CasHealth {
  readonly status: string;
  readonly version: string;
  readonly provisioned: boolean;
  readonly snapshots: {
    readonly enabled: boolean;
    readonly last_snapshot_at: string | null;
    readonly last_checkup_at: string | null;
  };
}

export interface SecretValue {
  readonly kind: string;
  readonly value: string;
  readonly expires: string | null;
  readonly renew: string | null;
}

type Body = Record<string, unknown>;

function isRecord(value: unknown): value is Body {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unexpected(what: string, field?: string): CasError {
  return new CasError(`${what}: unexpected response${field ? ` (${field})` : ""}`, 200);
}

function record(body: unknown, what: string, field?: string): Body {
  if (!isRecord(body)) throw unexpected(what, field ? `${field} is not an object` : undefined);
  return body;
}

function str(body: Body, key: string, what: string, prefix = ""): string {
  const value = body[key];
  if (typeof value !== "string") throw unexpected(what, `${prefix}${key} is not a string`);
  return value;
}

function strOrNull(body: Body, key: string, what: string, prefix = ""): string | null {
  const value = body[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw unexpected(what, `${prefix}${key} is not a string`);
  return value;
}

function bool(body: Body, key: string, what: string, prefix = ""): boolean {
  const value = body[key];
  if (typeof value !== "boolean") throw unexpected(what, `${prefix}${key} is not true or false`);
  return value;
}

/** `{"version": "…"}` */
export function parseVersionAnswer(body: unknown): string {
  return str(record(body, "version"), "version", "version");
}

export function parseHealthAnswer(body: unknown): CasHealth {
  const what = "health";
  const b = record(body, what);
  const s = record(b.snapshots, what, "snapshots");
  return {
    status: str(b, "status", what),
    version: str(b, "version", what),
    provisioned: bool(b, "provisioned", what),
    snapshots: {
      enabled: bool(s, "enabled", what, "snapshots."),
      last_snapshot_at: strOrNull(s, "last_snapshot_at", what, "snapshots."),
      last_checkup_at: strOrNull(s, "last_checkup_at", what, "snapshots."),
    },
  };
}

/** `{"owner_key_hash": "…"}` */
export function parseProvisionAnswer(body: unknown): { ownerKeyHash: string } {
  return { ownerKeyHash: str(record(body, "provision"), "owner_key_hash", "provision") };
}

/** `{"hash": "…"}` of a session create, update or encrypted upload. */
export function parseHashAnswer(body: unknown, what: string): { hash: string } {
  return { hash: str(record(body, what), "hash", what) };
}

/** `{"session": "…", "hash": "…"}` */
export function parseSessionAnswer(body: unknown, what: string): { session: string; hash: string } {
  const b = record(body, what);
  return { session: str(b, "session", what), hash: str(b, "hash", what) };
}

function secretValue(body: unknown, what: string, prefix: string): SecretValue {
  const b = record(body, what, prefix.replace(/\.$/, "") || undefined);
  return {
    kind: str(b, "kind", what, prefix),
    value: str(b, "value", what, prefix),
    expires: strOrNull(b, "expires", what, prefix),
    renew: strOrNull(b, "renew", what, prefix),
  };
}

/** One exported secret: `{kind, value, expires, renew}`. */
export function parseValueAnswer(body: unknown, what: string): SecretValue {
  return secretValue(body, what, "");
}

/** `{"values": {name: {kind, value, expires, renew}, …}}`, as a map without a prototype. */
export function parseValuesAnswer(body: unknown, what: string): Record<string, SecretValue> {
  const values = record(record(body, what).values, what, "values");
  const out: Record<string, SecretValue> = Object.create(null);
  for (const [name, value] of Object.entries(values)) out[name] = secretValue(value, what, `values.${name}.`);
  return out;
}
