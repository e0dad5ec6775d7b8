// Where the CAS pod runtime keeps things (one state dir): volumes by PVC, which outlive pods, and one directory per
// pod instance (pod UID), which goes with the pod like its emptyDirs and container logs.
//   <state>/volumes/<namespace>/<claim>/          PVC-backed data (database-NAME-0, database-snapshots-NAME-0)
//   <state>/pods/<namespace>/<pod>/<uid>/
//     root/          exec workDir: .kwok-cas-root + one symlink per mount (etc/cas/db → the database dir, ...)
//     volumes/<name>/ emptyDir-backed data (audit-log, and database/snapshots when they have no PVC)
//     cas.log, audit.log   CRI-format logs of the `cas` and `audit` containers
import { join } from "node:path";
import type { CasPodPlan, MountPlan } from "./plan.ts";

export interface PodPaths {
  readonly dir: string;
  readonly root: string;
  readonly databaseDir: string;
  readonly snapshotDir: string | undefined;
  readonly auditDir: string;
  readonly auditLog: string;
  readonly casLog: string;
  readonly auditContainerLog: string;
}

const safe = (part: string): string => {
  if (!/^[A-Za-z0-9._-]+$/.test(part) || part === "." || part === "..") {
    throw new Error(`"${part}" cannot name a directory (Kubernetes names are DNS labels)`);
  }
  return part;
};

export function podDir(stateDir: string, namespace: string, pod: string, uid: string): string {
  return join(stateDir, "pods", safe(namespace), safe(pod), safe(uid));
}

export function volumeDir(stateDir: string, namespace: string, claim: string): string {
  return join(stateDir, "volumes", safe(namespace), safe(claim));
}

function dirFor(stateDir: string, plan: CasPodPlan, dir: string, mount: MountPlan, emptyDirName: string): string {
  return mount.backing.kind === "pvc"
    ? volumeDir(stateDir, plan.namespace, mount.backing.claim)
    : join(dir, "volumes", emptyDirName);
}

export function podPaths(stateDir: string, plan: CasPodPlan): PodPaths {
  const dir = podDir(stateDir, plan.namespace, plan.pod, plan.uid);
  const auditDir = join(dir, "volumes", "audit-log");
  return {
    dir,
    root: join(dir, "root"),
    databaseDir: dirFor(stateDir, plan, dir, plan.database, "database"),
    snapshotDir: plan.snapshots ? dirFor(stateDir, plan, dir, plan.snapshots, "database-snapshots") : undefined,
    auditDir,
    auditLog: join(auditDir, "cas_audit.log"),
    casLog: join(dir, "cas.log"),
    auditContainerLog: join(dir, "audit.log"),
  };
}
