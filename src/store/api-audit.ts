// Record of mutating API calls, with the name (never the value) of the token that made them.
import { desc, lt } from "drizzle-orm";
import type { StoreDb } from "./open.ts";
import { clampLimit } from "./query.ts";
import { apiAudit } from "./schema.ts";

export type ApiCallRecord = typeof apiAudit.$inferSelect;

export function recordApiCall(db: StoreDb, call: Omit<typeof apiAudit.$inferInsert, "id">): number {
  return db.insert(apiAudit).values(call).returning({ id: apiAudit.id }).get().id;
}

/** Newest first; `before` is an id from the previous page. */
export function listApiCalls(db: StoreDb, query: { limit: number; before?: number }): ApiCallRecord[] {
  return db
    .select()
    .from(apiAudit)
    .where(query.before === undefined ? undefined : lt(apiAudit.id, query.before))
    .orderBy(desc(apiAudit.id))
    .limit(clampLimit(query.limit))
    .all();
}
