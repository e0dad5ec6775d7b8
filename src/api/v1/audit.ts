// GET /audit: search the indexed CAS audit log (full text, event, time window), newest first. An index holding
// nothing of the CAS is first rebuilt from the audit archive on the API's targets (targets.ts).
import { createRoute, z } from "@hono/zod-openapi";
import { type AuditEntry, searchAudit } from "../../store/audit.ts";
import type { StoreDb } from "../../store/open.ts";
import { authorizeIn } from "../access.ts";
import { newRouter } from "../env.ts";
import { withFieldPrefix } from "../errors.ts";
import { fieldProblem } from "../problem.ts";
import {
  iso,
  NextCursor,
  namespaceField,
  objectNameField,
  PageQuery,
  problemResponses,
  queryText,
  secured,
} from "../schemas.ts";
import { type ApiTarget, auditIndexFromArchive } from "../targets.ts";

const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    namespace: z.string(),
    name: z.string(),
    log: z.string().openapi({
      description: "The audit log of the entry (signature of its first entry): each CAS pod writes its own from seq 0",
    }),
    seq: z.number().int(),
    ts: z.string(),
    event: z.string(),
    session: z.string().nullable(),
    service: z.string().nullable(),
    raw: z.string(),
    signature: z.string(),
    prevSignature: z.string(),
    chainOk: z.boolean().openapi({ description: "prevSignature matched the previous entry when indexed" }),
  })
  .openapi("AuditEntry");

const time = (what: string) =>
  z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: `${what} (RFC 3339)`, example: "2026-11-23T10:00:00Z" });

const route = createRoute({
  ...secured("read"),
  tags: ["audit"],
  method: "get",
  path: "/audit",
  summary: "Search the audit log of one CAS",
  request: {
    query: z.object({
      namespace: namespaceField,
      name: objectNameField.openapi({ description: "CAS name" }),
      q: queryText(256).optional().openapi({ description: "Words that must all occur; a trailing * matches a prefix" }),
      event: queryText(128).optional(),
      from: time("Entries at or after this time"),
      to: time("Entries before this time"),
      ...PageQuery,
    }),
  },
  responses: {
    200: {
      description: "a page of entries, newest first",
      content: {
        "application/json": { schema: z.object({ items: z.array(AuditEntrySchema), nextCursor: NextCursor }) },
      },
    },
    ...problemResponses(400, 401, 403, 503),
  },
});

const render = (e: AuditEntry) => ({ ...e, ts: iso(e.ts) });

/** A search text the full-text index still cannot parse is the caller's input, not a server fault: 400 on query.q. */
function searchOrRefuse<T>(q: string | undefined, search: () => T): T {
  try {
    return search();
  } catch (err) {
    if (q !== undefined && err instanceof Error && err.name === "SQLiteError") {
      throw fieldProblem("query.q", "is not a search the index can run: give words, a trailing * matches a prefix");
    }
    throw err;
  }
}

export function auditRoutes(db: StoreDb, targets: () => readonly ApiTarget[]) {
  return newRouter().openapi(route, async (c) => {
    const { namespace, name, q, event, from, to, limit, cursor } = c.req.valid("query");
    await authorizeIn(c.get("caller"), { verb: "list", resource: "cas", subresource: "audit" }, namespace);
    const fromMs = from === undefined ? undefined : Date.parse(from);
    const toMs = to === undefined ? undefined : Date.parse(to);
    if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
      throw fieldProblem("query.to", "must be later than query.from");
    }
    await auditIndexFromArchive(db, targets, { namespace, name });
    const result = withFieldPrefix("query", () =>
      searchOrRefuse(q, () =>
        searchAudit(db, {
          namespace,
          name,
          limit,
          ...(q === undefined ? {} : { query: q }),
          ...(event === undefined ? {} : { event }),
          ...(fromMs === undefined ? {} : { from: fromMs }),
          ...(toMs === undefined ? {} : { to: toMs }),
          ...(cursor === undefined ? {} : { cursor }),
        }),
      ),
    );
    return c.json({ items: result.entries.map(render), nextCursor: result.nextCursor }, 200);
  });
}
