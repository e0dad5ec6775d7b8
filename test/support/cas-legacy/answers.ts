// Test support: parsers of the answers of the simulator's own API that scone's former REST client called (issue 13
// removed the client from src/); the documented public values answer stays in src/cas/answers.ts.
import {
  type Body,
  record,
  type SecretValue,
  secretValue,
  str,
  strOrNull,
  unexpected,
} from "../../../src/cas/answers.ts";

export { parseValuesAnswer } from "../../../src/cas/answers.ts";
export type { SecretValue };

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

/** One exported secret: `{kind, value, expires, renew}`. */
export function parseValueAnswer(body: unknown, what: string): SecretValue {
  return secretValue(body, what, "");
}

function bool(body: Body, key: string, what: string, prefix = ""): boolean {
  const value = body[key];
  if (typeof value !== "boolean") throw unexpected(what, `${prefix}${key} is not true or false`);
  return value;
}
