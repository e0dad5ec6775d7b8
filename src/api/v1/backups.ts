// GET /backups: the backup catalog, newest first.
import { createRoute, z } from "@hono/zod-openapi";
import type { BackupRecord } from "../../store/backups.ts";
import type { StoreDb } from "../../store/open.ts";
import { BACKUP_METHODS, BACKUP_PHASES } from "../../store/schema.ts";
import { authorizeList } from "../access.ts";
import { decodeCursor, page } from "../cursor.ts";
import { newRouter } from "../env.ts";
import { iso, NextCursor, namespaceField, objectNameField, PageQuery, problemResponses, secured } from "../schemas.ts";
import { backupsPage } from "../store-pages.ts";
import { type ApiTarget, refreshCatalogFromTargets } from "../targets.ts";

const BackupSchema = z
  .object({
    id: z.string(),
    namespace: z.string(),
    name: z.string().openapi({ description: "The CAS that was backed up" }),
    phase: z.enum(BACKUP_PHASES),
    method: z.enum(BACKUP_METHODS),
    target: z.string(),
    startedAt: z.string(),
    stoppedAt: z.string().nullable(),
    sizeBytes: z.number().int().nullable(),
    files: z.record(z.string(), z.object({ sha256: z.string(), size: z.number().int() })),
    snapshotMarker: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi("Backup");

const route = createRoute({
  ...secured("read"),
  tags: ["backups"],
  method: "get",
  path: "/backups",
  summary: "Backup catalog of the CAS instances",
  request: {
    query: z.object({
      namespace: namespaceField.optional(),
      name: objectNameField.optional().openapi({ description: "CAS name" }),
      phase: z.enum(BACKUP_PHASES).optional(),
      refresh: z.enum(["true", "false"]).optional().openapi({
        description:
          "true: refill the catalog from the API's targets (backup root, --s3-allow) first, as `scone cas backups --refresh`: sets another replica took",
      }),
      ...PageQuery,
    }),
  },
  responses: {
    200: {
      description: "a page of backups, newest first",
      content: { "application/json": { schema: z.object({ items: z.array(BackupSchema), nextCursor: NextCursor }) } },
    },
    ...problemResponses(400, 401, 403, 503),
  },
});

const Position = z.object({ t: z.number().int(), id: z.string() });

const render = (b: BackupRecord) => ({ ...b, startedAt: iso(b.startedAt), stoppedAt: iso(b.stoppedAt) });

export function backupRoutes(db: StoreDb, targets: () => readonly ApiTarget[]) {
  return newRouter().openapi(route, async (c) => {
    const { limit, cursor, namespace, refresh, ...filter } = c.req.valid("query");
    const after = decodeCursor(cursor, Position);
    const namespaces = await authorizeList(
      c.get("caller"),
      { verb: "list", resource: "cas", subresource: "backups" },
      namespace,
    );
    if (refresh === "true") await refreshCatalogFromTargets(db, targets());
    const rows = backupsPage(db, { ...filter, namespaces, limit: limit + 1, ...(after ? { after } : {}) });
    const result = page(rows, limit, (last) => ({ t: last.startedAt, id: last.id }));
    return c.json({ items: result.items.map(render), nextCursor: result.nextCursor }, 200);
  });
}
