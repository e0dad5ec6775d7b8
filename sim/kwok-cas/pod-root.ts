// The exec view of a CAS pod: a directory standing in for the container's `/`, with one symlink per mount
// (root/etc/cas/db → the database dir, ...) and `.kwok-cas-root` listing the mount paths, which the exec shim
// (exec-bin/kwok-cas-shim) rewrites in command arguments. `restart-cas` in the root asks the runtime to restart the
// simulator (upstream's recovery hand-off, `kubectl exec POD -- bash restart-cas`).
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { PodPaths } from "./layout.ts";
import type { CasPodPlan } from "./plan.ts";

export const ROOT_MARKER = ".kwok-cas-root";
export const RESTART_REQUEST = ".restart-requested";

/** mount path → host directory, for this pod. */
export function podMounts(plan: CasPodPlan, paths: PodPaths): [mountPath: string, hostDir: string][] {
  const mounts: [string, string][] = [
    [plan.database.mountPath, paths.databaseDir],
    [plan.auditDir, paths.auditDir],
  ];
  if (plan.snapshots && paths.snapshotDir) mounts.push([plan.snapshots.mountPath, paths.snapshotDir]);
  return mounts;
}

export function buildPodRoot(plan: CasPodPlan, paths: PodPaths): void {
  rmSync(paths.root, { recursive: true, force: true });
  mkdirSync(paths.root, { recursive: true });
  const mounts = podMounts(plan, paths);
  for (const [mountPath, hostDir] of mounts) {
    mkdirSync(hostDir, { recursive: true });
    const link = join(paths.root, mountPath);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(hostDir, link);
  }
  writeFileSync(join(paths.root, ROOT_MARKER), `${mounts.map(([m]) => m).join("\n")}\n`);
  const restart = join(paths.root, "restart-cas");
  writeFileSync(
    restart,
    [
      "#!/bin/sh",
      "# Simulated CAS pod: asks the kwok-cas runtime to restart the CAS (it applies last-snapshot-* recovery files).",
      `touch "$(dirname "$0")/${RESTART_REQUEST}"`,
      'echo "CAS restart requested"',
      "",
    ].join("\n"),
  );
  chmodSync(restart, 0o755);
}
