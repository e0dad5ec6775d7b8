// Small building blocks shared by the repository modules' list queries.
import { eq, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

/** `column = value` for every pair whose value is given; absent filters match everything. */
export function equalities(pairs: readonly (readonly [SQLiteColumn, string | number | undefined])[]): SQL[] {
  return pairs.flatMap(([column, value]) => (value === undefined ? [] : [eq(column, value)]));
}

/** A page size between 1 and `max`, so a caller cannot ask the store for everything at once. */
export function clampLimit(limit: number, max = 1000): number {
  if (!Number.isFinite(limit) || limit < 1) return 1;
  return Math.min(Math.trunc(limit), max);
}
