// Schemas several route modules share: problems, paging, times. Route modules keep their own shapes.
import { z } from "@hono/zod-openapi";
import type { TokenScope } from "../store/schema.ts";
import { requireScope } from "./middleware/require-scope.ts";

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request: `errors` names each field path (query.limit, body.params.to, …)",
  401: "No bearer token, or an unknown, expired or revoked one",
  403: "The token's scope is too small for this route",
  404: "No such object",
  409: "Conflict with the current state",
  413: "Request body larger than the limit",
  501: "Not implemented yet",
  503: "Not ready: the informer caches have not synced, or there is no cluster connection",
};

/** OpenAPI response entries for these problem statuses. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: PROBLEM_DESCRIPTIONS[s] ?? "Problem",
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}

/** For every /api/v1 route: the OpenAPI security requirement, the scope it needs (documented and enforced). */
export function secured(scope: TokenScope) {
  return {
    security: [{ bearer: [] as string[] }],
    "x-scone-scope": scope,
    middleware: [requireScope(scope)],
  };
}

export const LIMIT_DEFAULT = 100;
export const LIMIT_MAX = 1000;

export const PageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(LIMIT_MAX)
    .default(LIMIT_DEFAULT)
    .openapi({ description: `Page size, 1-${LIMIT_MAX}`, example: 50 }),
  cursor: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .openapi({ description: "nextCursor of the previous page, unchanged (opaque)" }),
};

export const NextCursor = z.string().optional().openapi({ description: "Present when another page follows" });

/** Milliseconds since the epoch → RFC 3339 (UTC); null stays null. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * Free text in a query string (search words, states, events): at most `max` characters and no control characters.
 * A NUL would end the string early inside SQLite's full-text parser, which then fails as an internal error.
 */
export function queryText(max: number) {
  // .refine, not .regex: the documented schema stays a plain bounded string.
  return z
    .string()
    .max(max)
    .refine((s) => !hasControlCharacter(s), "must not contain control characters (NUL, tab, newline, …)");
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export const namespaceField = z
  .string()
  .regex(DNS_LABEL, "a namespace is a DNS label: lower-case letters, digits and '-', at most 63")
  .openapi({ example: "prod" });
export const objectNameField = z
  .string()
  .regex(DNS_SUBDOMAIN, "an object name is lower-case letters, digits, '-' and '.', at most 253")
  .openapi({ example: "cas" });
