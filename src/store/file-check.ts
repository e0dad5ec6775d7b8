// Refuses a state database file that is not scone's or is damaged, before anything is written to it: a random
// file, a truncated one, another application's SQLite database (migrating it would add scone's tables to someone
// else's data). The error names the path and the fix. scone's databases carry SQLite's application_id "SCON";
// those created before it was set are recognised by their migrations table and stamped on the next open.
import type { Database } from "bun:sqlite";
import { closeSync, openSync, readSync } from "node:fs";
import { MIGRATIONS_TABLE } from "./migrate.ts";

/** PRAGMA application_id of scone's state databases: "SCON" in ASCII. */
export const SCONE_APPLICATION_ID = 0x53434f4e;
const HEADER = "SQLite format 3\0";
const HEADER_BYTES = 100;

/** The file is damaged or not a database at all; it can be deleted and rebuilt from the cluster and targets. */
export class StoreCorruptError extends Error {
  override readonly name = "StoreCorruptError";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(
      `state database ${path} is damaged (${reason}); it is an index of what lives in the cluster and the backup targets: delete it (with ${path}-wal and ${path}-shm) and scone rebuilds it, or move it aside or pass another --state-dir`,
    );
  }
}

/** The file is another application's SQLite database: never migrated, never suggested for deletion. */
export class StoreForeignError extends Error {
  override readonly name = "StoreForeignError";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(
      `${path} is not a scone state database (${reason}); it belongs to another program, so scone leaves it alone: pass another --state-dir (or SCONE_STATE_DIR)`,
    );
  }
}

interface Header {
  readonly size: number;
  readonly pageSize: number;
  readonly pages: number;
  /** The in-header page count is valid only when the change counter matches "version-valid-for". */
  readonly pagesValid: boolean;
}

function readHeader(path: string, size: number): Header {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const read = readSync(fd, buf, 0, HEADER_BYTES, 0);
    if (read < HEADER_BYTES) throw new StoreCorruptError(path, `${read} bytes, shorter than a SQLite header`);
    if (buf.toString("latin1", 0, 16) !== HEADER) throw new StoreCorruptError(path, "not a SQLite database");
    const raw = buf.readUInt16BE(16);
    return {
      size,
      pageSize: raw === 1 ? 65536 : raw,
      pages: buf.readUInt32BE(28),
      pagesValid: buf.readUInt32BE(24) === buf.readUInt32BE(92),
    };
  } finally {
    closeSync(fd);
  }
}

/**
 * Before SQLite opens the file: an empty file is a new database; anything else needs a SQLite header and at least
 * the pages the header says it has (truncation always cuts the end, which SQLite itself notices only on reading).
 * `inUse` (the -wal file holds frames): pages may live in the WAL, and another process may be checkpointing, which
 * writes page 1 before the pages that extend the file; the page count is not compared then (SQLite's structural
 * check, which reads through the WAL, runs instead).
 */
export function checkStoreFileBytes(path: string, size: number, opts: { readonly inUse?: boolean } = {}): void {
  if (size === 0) return;
  const header = readHeader(path, size);
  if (!opts.inUse && header.pagesValid && header.pages * header.pageSize > size) {
    throw new StoreCorruptError(
      path,
      `truncated: ${size} bytes where its header counts ${header.pages} pages of ${header.pageSize} bytes`,
    );
  }
}

/** After SQLite opened the file, before migrating: whose database is it? Stamps scone's id on an unmarked one. */
export function checkStoreOwner(sqlite: Database, path: string): void {
  const id = sqlite.query<{ application_id: number }, []>("PRAGMA application_id").get()?.application_id ?? 0;
  if (id === SCONE_APPLICATION_ID) return;
  if (id !== 0) {
    throw new StoreForeignError(path, `its SQLite application_id is 0x${(id >>> 0).toString(16)}, scone's is "SCON"`);
  }
  const tables = sqlite
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all()
    .map((t) => t.name);
  if (tables.length > 0 && !tables.includes(MIGRATIONS_TABLE)) {
    const shown = tables.slice(0, 5).join(", ") + (tables.length > 5 ? ", …" : "");
    throw new StoreForeignError(path, `its tables are ${shown}`);
  }
  sqlite.run(`PRAGMA application_id = ${SCONE_APPLICATION_ID}`);
}

/** SQLite's own structural check (every page and index reached); anything but "ok" is damage. */
export function checkStoreIntegrity(sqlite: Database, path: string): void {
  const rows = sqlite.query<{ quick_check: string }, []>("PRAGMA quick_check(3)").all();
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
  if (problems.length > 0) throw new StoreCorruptError(path, problems.join("; "));
}
