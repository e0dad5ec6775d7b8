// Opens (creating if needed) the state database <stateDir>/scone.db and brings its schema up to date.
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import {
  applyMigrations,
  type EmbeddedMigration,
  type MigrationResult,
  StoreMigrationError,
  StoreVersionError,
} from "./migrate.ts";
import { EMBEDDED_MIGRATIONS } from "./migrations.generated.ts";
import * as schema from "./schema.ts";

export const DB_FILE = "scone.db";

export type StoreDb = BunSQLiteDatabase<typeof schema> & { $client: Database };

export interface Store {
  db: StoreDb;
  sqlite: Database;
  /** Absolute or as-given path of scone.db. */
  path: string;
  /** Tags of the migrations applied while opening. */
  migrated: MigrationResult["applied"];
  close(): void;
}

export interface OpenStoreOptions {
  stateDir: string;
  /** Only for tests that build older databases; defaults to every migration this binary knows. */
  migrations?: readonly EmbeddedMigration[];
  /** How long a writer waits for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

export function openStore({
  stateDir,
  migrations = EMBEDDED_MIGRATIONS,
  busyTimeoutMs = 5000,
}: OpenStoreOptions): Store {
  // The state holds audit data and token hashes: only the owner may enter the dir or read the file.
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, DB_FILE);
  // Create the file with 0600 before SQLite does (SQLite would use the umask, typically 0644); SQLite gives the
  // -wal and -shm files the same mode as the database file.
  closeSync(openSync(path, "a", 0o600));
  chmodSync(path, 0o600);

  const sqlite = new Database(path, { create: true, strict: true });
  try {
    sqlite.run(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    sqlite.run("PRAGMA journal_mode = WAL");
    // NORMAL is durable across application crashes in WAL mode; only a power loss can drop the last commits.
    sqlite.run("PRAGMA synchronous = NORMAL");
    sqlite.run("PRAGMA foreign_keys = ON");
    const { applied } = applyMigrations(sqlite, migrations, path);
    const db = drizzle({ client: sqlite, schema });
    return {
      db,
      sqlite,
      path,
      migrated: applied,
      close() {
        // Cheap; lets SQLite refresh planner statistics the queries of this session asked for.
        sqlite.run("PRAGMA optimize");
        sqlite.close();
      },
    };
  } catch (error) {
    sqlite.close();
    if (error instanceof StoreVersionError || error instanceof StoreMigrationError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `cannot open state database ${path}: ${reason}; repair or move the file, or use another --state-dir`,
      {
        cause: error,
      },
    );
  }
}
