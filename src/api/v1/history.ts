// GET /history: the reconcile history the operator records, newest first.
import { createRoute, z } from "@hono/zod-openapi";
import type { ReconcileRecord } from "../../store/history.ts";
import type { StoreDb } from "../../store/open.ts";
import { RECONCILE_RESULTS } from "../../store/schema.ts";
import { authorizeList } from "../access.ts";
import { decodeCursor, page } from "../cursor.ts";
import { newRouter } from "../env.ts";
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
import { historyPage } from "../store-pages.ts";

const ReconcileSchema = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    namespace: z.string(),
    name: z.string(),
    generation: z.number().int(),
    resourceVersion: z.string().nullable(),
    startedAt: z.string(),
    durationMs: z.number().int(),
    result: z.enum(RECONCILE_RESULTS),
    actions: z.array(z.string()),
    error: z.string().nullable(),
    trigger: z.string(),
  })
  .openapi("Reconcile");

const route = createRoute({
  ...secured("read"),
  tags: ["history"],
  method: "get",
  path: "/history",
  summary: "Reconcile history: what was asked, what was done, how long it took, how it ended",
  request: {
    query: z.object({
      kind: queryText(64).optional().openapi({ description: "Controller kind, e.g. CAS, LAS, SGXPlugin" }),
      namespace: namespaceField.optional(),
      name: objectNameField.optional(),
      ...PageQuery,
    }),
  },
  responses: {
    200: {
      description: "a page of reconciles, newest first",
      content: {
        "application/json": { schema: z.object({ items: z.array(ReconcileSchema), nextCursor: NextCursor }) },
      },
    },
    ...problemResponses(400, 401, 403),
  },
});

const Position = z.object({ t: z.number().int(), id: z.number().int() });

const render = (r: ReconcileRecord) => ({ ...r, startedAt: iso(r.startedAt) });

export function historyRoutes(db: StoreDb) {
  return newRouter().openapi(route, async (c) => {
    const { limit, cursor, namespace, ...filter } = c.req.valid("query");
    const after = decodeCursor(cursor, Position);
    const namespaces = await authorizeList(
      c.get("caller"),
      { verb: "list", resource: "cas", subresource: "history" },
      namespace,
    );
    const rows = historyPage(db, { ...filter, namespaces, limit: limit + 1, ...(after ? { after } : {}) });
    const result = page(rows, limit, (last) => ({ t: last.startedAt, id: last.id }));
    return c.json({ items: result.items.map(render), nextCursor: result.nextCursor }, 200);
  });
}
