// SnapshotSource over `kubectl exec` into the CAS pod (NAME-0, container cas): resolves `last-completed` once, then
// streams `tar -cf - -C <that snapshot dir> cas.db cas.key-store` and unpacks it. The tar runs in one directory,
// so both files come from the same snapshot even if the CAS takes a new one meanwhile. Source: upstream's
// --local-backup copies NAME-0:/var/mnt/cas-database-snapshots/last-completed (SCONE-INTERFACE §10.1, §12.5;
// table.ts snapshot-copy).
import { chmod, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { BackupNotPossibleError } from "./errors.ts";
import { LAST_COMPLETED, MAX_SNAPSHOT_FILE_BYTES, POD_SNAPSHOT_DIR, SNAPSHOT_FILES } from "./layout.ts";
import type { FetchedSnapshot, SnapshotSource } from "./snapshot-source.ts";
import { readTar } from "./tar.ts";

/** The slice of src/kube/exec.ts's execInPod this source needs (bound to a cluster connection by the caller). */
export type PodExec = (options: {
  namespace: string;
  pod: string;
  container?: string;
  command: readonly string[];
  timeoutMs?: number;
  /** The most stdout the call may return (src/kube/exec.ts fails the call beyond it). */
  maxOutputBytes?: number;
}) => Promise<{ exitCode: number; stdout: Uint8Array; stderr: string }>;

export interface PodSnapshotSourceOptions {
  namespace: string;
  /** The CAS name; the pod is NAME-0 (a one-replica StatefulSet). */
  name: string;
  exec: PodExec;
  container?: string;
  /** Snapshot root inside the pod (default /var/mnt/cas-database-snapshots). */
  snapshotDir?: string;
  timeoutMs?: number;
}

export class PodSnapshotSource implements SnapshotSource {
  constructor(private readonly options: PodSnapshotSourceOptions) {}

  get pod(): string {
    return `${this.options.name}-0`;
  }

  get description(): string {
    return `pod ${this.options.namespace}/${this.pod}`;
  }

  private run(command: readonly string[]) {
    return this.options.exec({
      namespace: this.options.namespace,
      pod: this.pod,
      container: this.options.container ?? "cas",
      command,
      timeoutMs: this.options.timeoutMs ?? 120_000,
      // Two snapshot files at their largest, with the archive's headers: a pod sending more is refused.
      maxOutputBytes: 2 * MAX_SNAPSHOT_FILE_BYTES + 64 * 1024,
    });
  }

  async fetch(into: string): Promise<FetchedSnapshot> {
    const root = this.options.snapshotDir ?? POD_SNAPSHOT_DIR;
    const last = posix.join(root, LAST_COMPLETED);
    // A symlink to snapshot-<time>-<n>: its target is the marker. A plain directory: no marker beyond its time.
    const link = await this.run(["readlink", last]);
    const target = link.exitCode === 0 ? new TextDecoder().decode(link.stdout).trim() : "";
    const dir = target === "" ? last : posix.isAbsolute(target) ? target : posix.join(root, target);
    const tar = await this.run(["tar", "-cf", "-", "-C", dir, ...SNAPSHOT_FILES]);
    if (tar.exitCode !== 0) {
      throw new BackupNotPossibleError(
        `no complete CAS snapshot in ${this.description}:${dir} (tar exit ${tar.exitCode}: ${tar.stderr.trim().slice(0, 300)}); has the CAS taken a snapshot yet?`,
      );
    }
    const entries = readTar(tar.stdout);
    const unexpected = entries.filter((e) => !(SNAPSHOT_FILES as readonly string[]).includes(e.name));
    if (unexpected.length > 0 || entries.length !== SNAPSHOT_FILES.length) {
      const names = entries.map((e) => JSON.stringify(e.name.slice(0, 100))).join(", ");
      throw new BackupNotPossibleError(
        `${this.description}: the snapshot archive must hold exactly ${SNAPSHOT_FILES.join(" and ")}, once each; it holds ${names || "nothing"}`,
      );
    }
    let mtime: number | undefined;
    for (const name of SNAPSHOT_FILES) {
      const entry = entries.find((e) => e.name === name);
      if (!entry) throw new BackupNotPossibleError(`${this.description}: the snapshot archive holds no ${name}`);
      if (entry.data.length > MAX_SNAPSHOT_FILE_BYTES) {
        throw new BackupNotPossibleError(
          `${this.description}: ${name} is larger than ${MAX_SNAPSHOT_FILE_BYTES} bytes`,
        );
      }
      const path = join(into, name);
      // Created exclusively (never through a file or link already there), private from the first byte.
      await writeFile(path, entry.data, { mode: 0o600, flag: "wx" });
      await chmod(path, 0o600);
      if (name === SNAPSHOT_FILES[0]) mtime = entry.mtime;
    }
    return {
      marker: target === "" ? null : posix.basename(target),
      timestamp: mtime === undefined ? null : new Date(mtime * 1000).toISOString(),
    };
  }
}
