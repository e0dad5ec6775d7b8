// Opens (creating if needed) the state database <stateDir>/scone.db and brings its schema up to date.
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import {
  checkStoreFileBytes,
  checkStoreIntegrity,
  checkStoreOwner,
  StoreCorruptError,
  StoreForeignError,
} from "./file-check.ts";
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
/** Databases up to this size get SQLite's quick_check at every open (about 0.3 s at this size). */
const QUICK_CHECK_ALWAYS_BYTES = 64 * 1024 * 1024;

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

const walHasFrames = (wal: string): boolean => existsSync(wal) && statSync(wal).size > 0;

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
  const fd = openSync(path, "a", 0o600);
  const size = fstatSync(fd).size;
  closeSync(fd);
  chmodSync(path, 0o600);
  // Frames in a -wal file are part of the database (a crash, a connection that did not checkpoint, or another
  // process that has it open and may be checkpointing into the file right now).
  const walPresent = walHasFrames(`${path}-wal`);
  // A random or truncated file is refused before SQLite touches it (docs/state.md, "Crash safety").
  checkStoreFileBytes(path, size, { inUse: walPresent });
  // With a -wal file, or a small database, SQLite's structural check runs. It costs about 5 ms per MB, so a large
  // database that was closed cleanly skips it.
  const integrityCheck = size > 0 && (size <= QUICK_CHECK_ALWAYS_BYTES || walPresent);

  const sqlite = new Database(path, { create: true, strict: true });
  try {
    sqlite.run(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    // Before the first write (switching to WAL writes the header): another program's database stays untouched.
    checkStoreOwner(sqlite, path);
    // WAL: a writer killed at any point leaves the last committed state (the WAL's checksummed frames are replayed
    // or ignored on the next open). NORMAL syncs at checkpoints, not at each commit: after SIGKILL nothing committed
    // is lost (the OS has the WAL); after a power loss the newest commits may be, never the database's consistency.
    sqlite.run("PRAGMA journal_mode = WAL");
    sqlite.run("PRAGMA synchronous = NORMAL");
    sqlite.run("PRAGMA foreign_keys = ON");
    if (integrityCheck) checkStoreIntegrity(sqlite, path);
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
    if (
      error instanceof StoreVersionError ||
      error instanceof StoreMigrationError ||
      error instanceof StoreCorruptError ||
      error instanceof StoreForeignError
    ) {
      throw error;
    }
    const reason = error instanceof Error ? error.message : String(error);
    // SQLITE_NOTADB / SQLITE_CORRUPT found on reading: the same fix as damage found by the checks.
    if (/not a database|malformed|corrupt/i.test(reason)) throw new StoreCorruptError(path, reason);
    throw new Error(
      `cannot open state database ${path}: ${reason}; repair or move the file, or use another --state-dir`,
      {
        cause: error,
      },
    );
  }
}
