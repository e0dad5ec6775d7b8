// What the CAS snapshot volume holds, observed in the pod: CAS copies each snapshot into a new subdirectory of
// `databaseSnapshots.targetDirectory` (where the snapshot volume is mounted) and the latest one is
// readable at `<dir>/last-completed` (SCONE-INTERFACE §3.3, §12.5; upstream's `--local-backup` copies that path,
// §10.1). Its modification time is when the latest snapshot completed. When CAS last *checked* whether a snapshot was
// due is not observable (no file or endpoint is documented for it), so no check-up time is reported.
import type { ExecOptions, ExecResult } from "../../kube/exec.ts";
import type { CAS } from "../../resources/cas.ts";
import { CAS_CONTAINER, DEFAULT_SNAPSHOT_DIR, names } from "./names.ts";

/** The slice of src/kube/exec.ts's execInPod the observation needs (bound to a cluster connection by the caller). */
export type CasPodExec = (
  options: Pick<ExecOptions, "namespace" | "pod" | "container" | "command" | "timeoutMs" | "maxOutputBytes" | "signal">,
) => Promise<ExecResult>;

export const LAST_COMPLETED = "last-completed";

/** Absolute, plain segments only: the directory comes from the CAS spec and ends up in an exec argv. */
const SAFE_DIR = /^(\/[A-Za-z0-9_][A-Za-z0-9._-]{0,254})+\/?$/;

/** `<dir>/last-completed`, or undefined when `dir` is not a plain absolute path (no `.`/`..` segments). */
export function lastCompletedPath(dir: string): string | undefined {
  if (dir.length > 1024 || !SAFE_DIR.test(dir)) return undefined;
  const segments = dir.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === "." || s === "..")) return undefined;
  return `/${[...segments, LAST_COMPLETED].join("/")}`;
}

/**
 * `stat -c %Y` prints the modification time in whole seconds since the epoch (GNU coreutils and busybox alike);
 * anything else is no timestamp.
 */
export function snapshotTimeFromStat(stdout: string): string | undefined {
  const text = stdout.trim();
  if (!/^\d{1,12}$/.test(text)) return undefined;
  const ms = Number(text) * 1000;
  return ms > 0 ? new Date(ms).toISOString().replace(/\.000Z$/, "Z") : undefined;
}

export interface SnapshotObservation {
  /** RFC 3339: when `last-completed` was last changed; absent when snapshots are off, none exists or it is unknown. */
  readonly snapshotTimestamp?: string;
}

/**
 * `stat` of `<dir>/last-completed` in container `cas` of NAME-0. Without `-L`: when last-completed is a link to the
 * newest snapshot directory, its own time is when it was pointed there. Missing, unreadable or an exec that fails
 * all give no timestamp (the status keeps the last one it saw).
 */
export async function observeLastSnapshot(
  exec: CasPodExec,
  cas: CAS,
  signal: AbortSignal,
  timeoutMs = 10_000,
): Promise<SnapshotObservation> {
  const snapshots = cas.spec?.databaseSnapshots;
  if (snapshots?.enabled !== true) return {};
  const path = lastCompletedPath(snapshots.targetDirectory ?? DEFAULT_SNAPSHOT_DIR);
  if (!path) return {};
  try {
    const r = await exec({
      namespace: cas.metadata.namespace ?? "",
      pod: names(cas.metadata.name ?? "").pod,
      container: CAS_CONTAINER,
      command: ["stat", "-c", "%Y", "--", path],
      timeoutMs,
      maxOutputBytes: 1024,
      signal,
    });
    if (r.exitCode !== 0) return {};
    const at = snapshotTimeFromStat(new TextDecoder().decode(r.stdout));
    return at ? { snapshotTimestamp: at } : {};
  } catch {
    return {};
  }
}
