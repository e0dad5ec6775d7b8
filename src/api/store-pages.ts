// Keyset pages over store tables for the API (backup catalog, operations, reconcile history): newest first by
// (time, id), continuing strictly after the last row of the previous page, and limited to a set of namespaces for
// namespace-limited tokens. Read-only and small; kept here so the API can page and confine in one query.
import { and, desc, eq, inArray, lt, or, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { StoreDb } from "../store/open.ts";
import {
  type BackupPhase,
  backupCatalog,
  type OperationKind,
  type OperationPhase,
  operations,
  reconcileHistory,
} from "../store/schema.ts";

export interface TimeIdPosition<Id extends string | number = string> {
  t: number;
  id: Id;
}

/** Rows of these namespaces only; undefined = every namespace. */
type Namespaces = readonly string[] | undefined;

/** The WHERE (filters, namespaces, position) and ORDER BY (time, id descending) of one keyset page. */
function keyset(
  filters: readonly (readonly [SQLiteColumn, string | undefined])[],
  namespaces: readonly [SQLiteColumn, Namespaces],
  order: readonly [time: SQLiteColumn, id: SQLiteColumn],
  after: TimeIdPosition<string | number> | undefined,
): { where: SQL | undefined; orderBy: [SQL, SQL] } {
  const [time, id] = order;
  const parts: (SQL | undefined)[] = filters.flatMap(([column, value]) =>
    value === undefined ? [] : [eq(column, value)],
  );
  const [nsColumn, allowed] = namespaces;
  if (allowed !== undefined) parts.push(inArray(nsColumn, [...allowed]));
  if (after) parts.push(or(lt(time, after.t), and(eq(time, after.t), lt(id, after.id))));
  return { where: and(...parts), orderBy: [desc(time), desc(id)] };
}

export function backupsPage(
  db: StoreDb,
  q: { namespaces?: Namespaces; name?: string; phase?: BackupPhase; after?: TimeIdPosition; limit: number },
) {
  const t = backupCatalog;
  const filters = [
    [t.name, q.name],
    [t.phase, q.phase],
  ] as const;
  const k = keyset(filters, [t.namespace, q.namespaces], [t.startedAt, t.id], q.after);
  return db
    .select()
    .from(t)
    .where(k.where)
    .orderBy(...k.orderBy)
    .limit(q.limit)
    .all();
}

export function operationsPage(
  db: StoreDb,
  q: {
    kind?: OperationKind;
    namespaces?: Namespaces;
    name?: string;
    phase?: OperationPhase;
    after?: TimeIdPosition;
    limit: number;
  },
) {
  const t = operations;
  const filters = [
    [t.kind, q.kind],
    [t.name, q.name],
    [t.phase, q.phase],
  ] as const;
  const k = keyset(filters, [t.namespace, q.namespaces], [t.createdAt, t.id], q.after);
  return db
    .select()
    .from(t)
    .where(k.where)
    .orderBy(...k.orderBy)
    .limit(q.limit)
    .all();
}

export function historyPage(
  db: StoreDb,
  q: { kind?: string; namespaces?: Namespaces; name?: string; after?: TimeIdPosition<number>; limit: number },
) {
  const t = reconcileHistory;
  const k = keyset(
    [
      [t.kind, q.kind],
      [t.name, q.name],
    ],
    [t.namespace, q.namespaces],
    [t.startedAt, t.id],
    q.after,
  );
  return db
    .select()
    .from(t)
    .where(k.where)
    .orderBy(...k.orderBy)
    .limit(q.limit)
    .all();
}
