// Applies the embedded migrations (src/store/migrations.generated.ts) to a bun:sqlite database.
//
// Why an own runner instead of drizzle's `dialect.migrate`: drizzle only compares the newest `created_at` in
// __drizzle_migrations with each migration's timestamp. It cannot tell that a database was written by a NEWER
// scone (it would silently run an old binary against an unknown schema), it decides what is pending before it
// holds the write lock (two processes opening a new state dir both migrate; the second fails with "table already
// exists"), and it records no tag we could name in an error. This runner keeps drizzle's table and row format (same DDL, hash = sha256 of the .sql file, created_at =
// journal `when`), so drizzle-kit and drizzle's migrator still recognise every migration it applied. It adds one
// nullable column, `tag`, which drizzle ignores, so an older binary can name the migration it does not know.
import type { Database } from "bun:sqlite";

export interface EmbeddedMigration {
  /** Journal tag, e.g. "0001_audit_fts" (= file name without .sql). */
  readonly tag: string;
  /** Journal `when` (ms); drizzle stores it as created_at. */
  readonly when: number;
  readonly breakpoints: boolean;
  /** sha256 (hex) of the whole .sql file, exactly as drizzle computes it. */
  readonly hash: string;
  /** The file split on `--> statement-breakpoint`. */
  readonly sql: readonly string[];
}

export const MIGRATIONS_TABLE = "__drizzle_migrations";

/** The database holds a migration this binary does not know: it was written by a newer (or different) scone. */
export class StoreVersionError extends Error {
  override readonly name = "StoreVersionError";
  constructor(
    readonly path: string,
    readonly tag: string,
    message: string,
  ) {
    super(message);
  }
}

/** A migration failed; the transaction was rolled back and the database is unchanged. */
export class StoreMigrationError extends Error {
  override readonly name = "StoreMigrationError";
  constructor(
    readonly path: string,
    readonly tag: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`migrating state database ${path} failed at migration ${tag}: ${reason} (nothing was changed)`, { cause });
  }
}

interface AppliedRow {
  hash: string;
  created_at: number | string | null;
  tag: string | null;
}

export interface MigrationResult {
  /** Tags applied by this call, in order. */
  applied: string[];
}

/**
 * Brings the database to the newest embedded migration. Refuses a database that contains an unknown migration
 * (StoreVersionError); never half-applies (StoreMigrationError after rollback).
 */
export function applyMigrations(
  sqlite: Database,
  migrations: readonly EmbeddedMigration[],
  path: string,
): MigrationResult {
  // Fast path without the write lock: a CLI reading state next to a running operator should not queue for it.
  const before = readApplied(sqlite);
  checkKnown(before, migrations, path);
  if (pendingOf(before, migrations).length === 0) return { applied: [] };

  // IMMEDIATE takes the write lock now, so a second process waits (busy_timeout) and then sees our rows.
  sqlite.run("BEGIN IMMEDIATE");
  let current: EmbeddedMigration | undefined;
  try {
    ensureTable(sqlite);
    const rows = readApplied(sqlite);
    checkKnown(rows, migrations, path);
    const pending = pendingOf(rows, migrations);
    const record = sqlite.prepare(`INSERT INTO "${MIGRATIONS_TABLE}" ("hash", "created_at", "tag") VALUES (?, ?, ?)`);
    for (const migration of pending) {
      current = migration;
      for (const statement of migration.sql) {
        if (statement.trim() !== "") sqlite.run(statement);
      }
      record.run(migration.hash, migration.when, migration.tag);
    }
    sqlite.run("COMMIT");
    return { applied: pending.map((m) => m.tag) };
  } catch (error) {
    sqlite.run("ROLLBACK");
    if (error instanceof StoreVersionError || current === undefined) throw error;
    throw new StoreMigrationError(path, current.tag, error);
  }
}

function ensureTable(sqlite: Database): void {
  // Same DDL as drizzle's migrator (including its odd `SERIAL`), so drizzle tooling accepts the table.
  sqlite.run(
    `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
  );
  const columns = sqlite.query<{ name: string }, []>(`PRAGMA table_info("${MIGRATIONS_TABLE}")`).all();
  if (!columns.some((c) => c.name === "tag")) sqlite.run(`ALTER TABLE "${MIGRATIONS_TABLE}" ADD COLUMN "tag" text`);
}

function readApplied(sqlite: Database): AppliedRow[] {
  const table = sqlite
    .query<{ n: number }, [string]>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?")
    .get(MIGRATIONS_TABLE);
  if (!table || table.n === 0) return [];
  const hasTag = sqlite
    .query<{ name: string }, []>(`PRAGMA table_info("${MIGRATIONS_TABLE}")`)
    .all()
    .some((c) => c.name === "tag");
  return sqlite
    .query<AppliedRow, []>(
      `SELECT hash, created_at, ${hasTag ? "tag" : "NULL AS tag"} FROM "${MIGRATIONS_TABLE}" ORDER BY created_at`,
    )
    .all();
}

function pendingOf(applied: readonly AppliedRow[], migrations: readonly EmbeddedMigration[]): EmbeddedMigration[] {
  const done = new Set(applied.map((row) => row.hash));
  return migrations.filter((m) => !done.has(m.hash));
}

function checkKnown(applied: readonly AppliedRow[], migrations: readonly EmbeddedMigration[], path: string): void {
  const known = new Set(migrations.map((m) => m.hash));
  const newestKnown = Math.max(0, ...migrations.map((m) => m.when));
  for (const row of applied) {
    if (known.has(row.hash)) continue;
    const createdAt = Number(row.created_at);
    const sameTime = migrations.find((m) => m.when === createdAt);
    const tag =
      row.tag ??
      sameTime?.tag ??
      `of ${Number.isFinite(createdAt) ? new Date(createdAt).toISOString() : "unknown time"}`;
    if (sameTime === undefined && createdAt > newestKnown) {
      throw new StoreVersionError(
        path,
        tag,
        `state database ${path} was written by a newer scone (migration ${tag}); upgrade scone or use another --state-dir`,
      );
    }
    // Same slot as a migration we know but different content: a build from another branch touched this database.
    throw new StoreVersionError(
      path,
      tag,
      `state database ${path} was written by a different scone build (migration ${tag} has checksum ${row.hash.slice(0, 12)}…, this scone expects another); use the scone that created it or another --state-dir`,
    );
  }
}
