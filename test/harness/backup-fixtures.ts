// Shared fixtures of the backup unit tests: temp dirs, a state store, a CAS snapshot directory laid out as the CAS
// writes it (snapshot-…/ + last-completed symlink), catalog rows.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PodExec } from "../../src/backup/pod-snapshot-source.ts";
import type { BackupRecord } from "../../src/store/backups.ts";
import { openStore, type Store } from "../../src/store/open.ts";

const dirs: string[] = [];
const stores: Store[] = [];

export function tempDir(label = "backup"): string {
  const dir = mkdtempSync(join(tmpdir(), `scone-test-${label}-`));
  dirs.push(dir);
  return dir;
}

export function tempStore(): Store {
  const store = openStore({ stateDir: join(tempDir("state"), "state") });
  stores.push(store);
  return store;
}

export function cleanup(): void {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A CAS snapshot root with one snapshot; returns the root and the files' bytes. */
export function snapshotRoot(name = "snapshot-2026-11-23T10-00-00-000Z-0"): {
  root: string;
  db: Uint8Array<ArrayBuffer>;
  keyStore: Uint8Array<ArrayBuffer>;
} {
  const root = tempDir("snapshots");
  const db = new Uint8Array(randomBytes(3000));
  const keyStore = new Uint8Array(randomBytes(200));
  mkdirSync(join(root, name));
  writeFileSync(join(root, name, "cas.db"), db, { mode: 0o600 });
  writeFileSync(join(root, name, "cas.key-store"), keyStore, { mode: 0o600 });
  symlinkSync(name, join(root, "last-completed"));
  return { root, db, keyStore };
}

const HOUR = 3_600_000;
export const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

/** A catalog row as the store returns it (for the pure planners). */
export function record(partial: Partial<BackupRecord> & { id: string }): BackupRecord {
  const startedAt = partial.startedAt ?? NOW - HOUR;
  return {
    namespace: "prod",
    name: "cas",
    phase: "completed",
    method: "snapshot-copy",
    target: `/backups/prod/cas/${partial.id}`,
    startedAt,
    stoppedAt: partial.phase === "running" || partial.phase === "pending" ? null : startedAt + 1000,
    sizeBytes: 10,
    files: {},
    snapshotMarker: null,
    error: null,
    ...partial,
  };
}

/** Runs the commands meant for the CAS pod (readlink, tar) on this machine; records each call in `calls`. */
export function localExec(calls: Parameters<PodExec>[0][] = []): PodExec {
  return async (options) => {
    calls.push(options);
    const child = Bun.spawn([...options.command], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).arrayBuffer(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { exitCode, stdout: new Uint8Array(stdout), stderr };
  };
}
