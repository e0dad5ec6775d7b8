// Keyset pages over store tables whose repository functions have no cursor yet (backup catalog, operations):
// newest first by (time, id), continuing strictly after the last row of the previous page. Belongs in src/store
// once it grows cursors there; kept here, read-only and small, so the API can page today.
import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { StoreDb } from "../store/open.ts";
import {
  type BackupPhase,
  backupCatalog,
  type OperationKind,
  type OperationPhase,
  operations,
} from "../store/schema.ts";

export interface TimeIdPosition {
  t: number;
  id: string;
}

function where(
  filters: readonly (readonly [SQLiteColumn, string | undefined])[],
  time: SQLiteColumn,
  id: SQLiteColumn,
  after: TimeIdPosition | undefined,
): SQL | undefined {
  const parts: (SQL | undefined)[] = filters.flatMap(([column, value]) =>
    value === undefined ? [] : [eq(column, value)],
  );
  if (after) parts.push(or(lt(time, after.t), and(eq(time, after.t), lt(id, after.id))));
  return and(...parts);
}

export function backupsPage(
  db: StoreDb,
  q: { namespace?: string; name?: string; phase?: BackupPhase; after?: TimeIdPosition; limit: number },
) {
  const t = backupCatalog;
  const filters = [
    [t.namespace, q.namespace],
    [t.name, q.name],
    [t.phase, q.phase],
  ] as const;
  return db
    .select()
    .from(t)
    .where(where(filters, t.startedAt, t.id, q.after))
    .orderBy(desc(t.startedAt), desc(t.id))
    .limit(q.limit)
    .all();
}

export function operationsPage(
  db: StoreDb,
  q: {
    kind?: OperationKind;
    namespace?: string;
    name?: string;
    phase?: OperationPhase;
    after?: TimeIdPosition;
    limit: number;
  },
) {
  const t = operations;
  const filters = [
    [t.kind, q.kind],
    [t.namespace, q.namespace],
    [t.name, q.name],
    [t.phase, q.phase],
  ] as const;
  return db
    .select()
    .from(t)
    .where(where(filters, t.createdAt, t.id, q.after))
    .orderBy(desc(t.createdAt), desc(t.id))
    .limit(q.limit)
    .all();
}
