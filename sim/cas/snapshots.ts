// Database snapshots (CAS `databaseSnapshots`): every interval, if cas.db (or cas.key-store) changed since the last
// snapshot, copy a consistent cas.db + cas.key-store pair into a new subdirectory of the target directory, then point
// `last-completed` (a symlink) at it — the path SCONE's tooling copies from (`--local-backup`).
// Reads and writes of the data files are synchronous, so no state change can interleave with the copy.
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { DB_FILE, KEY_STORE_FILE } from "./store.ts";

export const LAST_COMPLETED = "last-completed";

function digest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Name of a snapshot directory: sortable by time, unique within one millisecond by the counter. */
export function snapshotDirName(now: Date, counter: number): string {
  return `snapshot-${now.toISOString().replace(/[:.]/g, "-")}-${counter}`;
}

export interface SnapshotResult {
  readonly taken: boolean;
  readonly dir?: string;
}

/** What the CAS status reports about snapshots (CAS status.snapshotTimestamp / snapshotCheckupTimestamp). */
export interface SnapshotStatus {
  /** ISO 8601 time of the newest snapshot (survives restarts: taken from last-completed). */
  readonly lastSnapshotAt: string | null;
  /** ISO 8601 time of the last check, whether or not it made a snapshot. */
  readonly lastCheckupAt: string | null;
}

export class Snapshotter {
  private counter = 0;
  private lastSnapshotAt: string | null = null;
  private lastCheckupAt: string | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly targetDir: string,
  ) {
    mkdirSync(targetDir, { recursive: true, mode: 0o700 });
    const last = join(targetDir, LAST_COMPLETED, DB_FILE);
    if (existsSync(last)) this.lastSnapshotAt = statSync(last).mtime.toISOString();
  }

  get status(): SnapshotStatus {
    return { lastSnapshotAt: this.lastSnapshotAt, lastCheckupAt: this.lastCheckupAt };
  }

  /** Takes a snapshot when cas.db differs from the one in last-completed (or there is none yet). */
  takeIfChanged(now = new Date()): SnapshotResult {
    this.lastCheckupAt = now.toISOString();
    const dbPath = join(this.dataDir, DB_FILE);
    if (!existsSync(dbPath)) return { taken: false };
    const db = readFileSync(dbPath);
    const keyStore = readFileSync(join(this.dataDir, KEY_STORE_FILE));
    const last = join(this.targetDir, LAST_COMPLETED);
    const lastDb = join(last, DB_FILE);
    const lastKeys = join(last, KEY_STORE_FILE);
    // The key store changes too (e.g. a re-issued API certificate), and a snapshot is only useful as a pair.
    const unchanged =
      existsSync(lastDb) &&
      existsSync(lastKeys) &&
      digest(readFileSync(lastDb)) === digest(db) &&
      digest(readFileSync(lastKeys)) === digest(keyStore);
    if (unchanged) return { taken: false };

    const name = snapshotDirName(now, this.counter++);
    const dir = join(this.targetDir, name);
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, DB_FILE), db, { mode: 0o600 });
    writeFileSync(join(dir, KEY_STORE_FILE), keyStore, { mode: 0o600 });

    // Swap the symlink atomically: readers see the old or the new snapshot, never a missing one.
    const link = join(this.targetDir, LAST_COMPLETED);
    const tmpLink = join(this.targetDir, `.${LAST_COMPLETED}.tmp`);
    rmSync(tmpLink, { force: true });
    symlinkSync(name, tmpLink);
    if (existsSync(link) && !lstatSync(link).isSymbolicLink()) rmSync(link, { recursive: true, force: true });
    renameSync(tmpLink, link);
    this.lastSnapshotAt = now.toISOString();
    return { taken: true, dir };
  }
}
