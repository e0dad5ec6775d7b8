// Reconcile history: one row per reconcile, newest first when read.
import { and, desc, eq, lt, or } from "drizzle-orm";
import type { StoreDb } from "./open.ts";
import { clampLimit, equalities } from "./query.ts";
import { reconcileHistory } from "./schema.ts";

export type ReconcileRecord = typeof reconcileHistory.$inferSelect;
export type NewReconcileRecord = Omit<typeof reconcileHistory.$inferInsert, "id">;

export function recordReconcile(db: StoreDb, record: NewReconcileRecord): number {
  const row = db.insert(reconcileHistory).values(record).returning({ id: reconcileHistory.id }).get();
  return row.id;
}

/** Keyset position: the last row of the previous page. */
export interface HistoryCursor {
  startedAt: number;
  id: number;
}

export interface ListHistoryQuery {
  kind?: string;
  namespace?: string;
  name?: string;
  limit: number;
  /** A time (ms): rows that started strictly earlier; or the last row of the previous page. */
  before?: number | HistoryCursor;
}

export function listHistory(db: StoreDb, query: ListHistoryQuery): ReconcileRecord[] {
  const t = reconcileHistory;
  const where = equalities([
    [t.kind, query.kind],
    [t.namespace, query.namespace],
    [t.name, query.name],
  ]);
  const before = query.before;
  if (typeof before === "number") where.push(lt(t.startedAt, before));
  else if (before !== undefined) {
    const page = or(lt(t.startedAt, before.startedAt), and(eq(t.startedAt, before.startedAt), lt(t.id, before.id)));
    if (page) where.push(page);
  }
  return db
    .select()
    .from(t)
    .where(and(...where))
    .orderBy(desc(t.startedAt), desc(t.id))
    .limit(clampLimit(query.limit))
    .all();
}

/** Deletes rows that started before `olderThan` (ms); returns how many. Keeps the store bounded. */
export function pruneHistory(db: StoreDb, olderThan: number): number {
  return db.$client.query("DELETE FROM reconcile_history WHERE started_at < ?").run(olderThan).changes;
}
