// The CAS's answers, checked field by field before scone uses them: a CAS (or whatever answers on its port) is
// outside input. Each parser returns a value of exactly the documented shape or throws CasError naming the field.
// Only the documented public values answer is left (src/cas/public-values.ts); the parsers of the old client's
// invented endpoints are test support (test/support/cas-legacy/answers.ts).
import { CasError } from "./errors.ts";

export interface SecretValue {
  readonly kind: string;
  readonly value: string;
  readonly expires: string | null;
  readonly renew: string | null;
}

export type Body = Record<string, unknown>;

function isRecord(value: unknown): value is Body {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function unexpected(what: string, field?: string): CasError {
  return new CasError(`${what}: unexpected response${field ? ` (${field})` : ""}`, 200);
}

export function record(body: unknown, what: string, field?: string): Body {
  if (!isRecord(body)) throw unexpected(what, field ? `${field} is not an object` : undefined);
  return body;
}

export function str(body: Body, key: string, what: string, prefix = ""): string {
  const value = body[key];
  if (typeof value !== "string") throw unexpected(what, `${prefix}${key} is not a string`);
  return value;
}

export function strOrNull(body: Body, key: string, what: string, prefix = ""): string | null {
  const value = body[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw unexpected(what, `${prefix}${key} is not a string`);
  return value;
}

export function secretValue(body: unknown, what: string, prefix: string): SecretValue {
  const b = record(body, what, prefix.replace(/\.$/, "") || undefined);
  return {
    kind: str(b, "kind", what, prefix),
    value: str(b, "value", what, prefix),
    expires: strOrNull(b, "expires", what, prefix),
    renew: strOrNull(b, "renew", what, prefix),
  };
}

/** `{"values": {name: {kind, value, expires, renew}, …}}`, as a map without a prototype. */
export function parseValuesAnswer(body: unknown, what: string): Record<string, SecretValue> {
  const values = record(record(body, what).values, what, "values");
  const out: Record<string, SecretValue> = Object.create(null);
  for (const [name, value] of Object.entries(values)) out[name] = secretValue(value, what, `values.${name}.`);
  return out;
}
