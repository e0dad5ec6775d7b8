// The SnapshotSource port: copies the newest complete CAS database snapshot (cas.db + cas.key-store) into a local
// directory. Implementations: a directory (the CAS simulator's --snapshot-dir, a mounted volume, tests) and the
// CAS pod (pod-snapshot-source.ts).
import { constants } from "node:fs";
import { chmod, copyFile, realpath, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { BackupNotPossibleError, messageOf } from "./errors.ts";
import { LAST_COMPLETED, SNAPSHOT_FILES } from "./layout.ts";

export interface FetchedSnapshot {
  /** Which snapshot was copied (its directory name), when known. */
  marker: string | null;
  /** ISO 8601 time the snapshot was taken, when known. */
  timestamp: string | null;
}

export interface SnapshotSource {
  /** For messages, e.g. "pod my-ns/cas-0" or a directory path. */
  readonly description: string;
  /** Writes cas.db and cas.key-store (0600) into `into` (an existing, empty, private directory). */
  fetch(into: string): Promise<FetchedSnapshot>;
}

/**
 * A snapshot directory on this machine: either the CAS's snapshot root (holding `last-completed`) or one snapshot
 * directory itself. `last-completed` is resolved once, so both files come from the same snapshot even if the CAS
 * swaps the link in between.
 */
export class DirectorySnapshotSource implements SnapshotSource {
  constructor(readonly dir: string) {}

  get description(): string {
    return this.dir;
  }

  async fetch(into: string): Promise<FetchedSnapshot> {
    const snapshotDir = await this.resolveSnapshotDir();
    for (const name of SNAPSHOT_FILES) {
      const from = join(snapshotDir, name);
      const to = join(into, name);
      try {
        await copyFile(from, to, constants.COPYFILE_EXCL); // never through a file or link already there
      } catch (error) {
        throw new BackupNotPossibleError(`cannot copy ${from}: ${messageOf(error)}`);
      }
      await chmod(to, 0o600);
    }
    const taken = await stat(join(snapshotDir, SNAPSHOT_FILES[0]));
    return { marker: basename(snapshotDir), timestamp: taken.mtime.toISOString() };
  }

  private async resolveSnapshotDir(): Promise<string> {
    const last = join(this.dir, LAST_COMPLETED);
    const hasLast = await stat(last).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const dir = hasLast ? await realpath(last) : this.dir;
    const missing: string[] = [];
    for (const name of SNAPSHOT_FILES) {
      const ok = await stat(join(dir, name)).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!ok) missing.push(name);
    }
    if (missing.length > 0) {
      throw new BackupNotPossibleError(
        `no complete CAS snapshot in ${this.dir}: ${missing.join(" and ")} missing (has the CAS taken a snapshot yet?)`,
      );
    }
    return dir;
  }
}
