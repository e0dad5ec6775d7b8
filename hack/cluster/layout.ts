// Every file of one cluster lives under its directory; this names them in one place.
import { join } from "node:path";
import { type PkiPaths, pkiPaths } from "./pki.ts";

export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"] as const;
export type ComponentName = (typeof COMPONENTS)[number];

export interface ClusterLayout {
  readonly dir: string;
  readonly pki: PkiPaths;
  readonly etcdData: string;
  readonly stateFile: string;
  /** Process-group ids the watchdog kills when the owning process dies (test runs only). */
  readonly pidsFile: string;
  readonly adminKubeconfig: string;
  readonly controllerManagerKubeconfig: string;
  readonly schedulerKubeconfig: string;
  readonly kwokKubeconfig: string;
  readonly kwokConfig: string;
  /** The CRI-format log file kwok serves for every simulated container (`kubectl logs`). */
  readonly simulatedContainerLog: string;
  /** Working directory of commands run by `kubectl exec` into a simulated pod. */
  readonly execWorkDir: string;
  readonly serviceAccountKubeconfigs: string;
  /** kube-apiserver's audit policy and log: requests of ServiceAccounts outside kube-system (the RBAC test reads it). */
  readonly auditPolicy: string;
  readonly auditLog: string;
  readonly log: (component: ComponentName) => string;
}

export function clusterLayout(dir: string): ClusterLayout {
  return {
    dir,
    pki: pkiPaths(join(dir, "pki")),
    etcdData: join(dir, "etcd-data"),
    stateFile: join(dir, "state.json"),
    pidsFile: join(dir, "pgids"),
    adminKubeconfig: join(dir, "admin.kubeconfig"),
    controllerManagerKubeconfig: join(dir, "kube-controller-manager.kubeconfig"),
    schedulerKubeconfig: join(dir, "kube-scheduler.kubeconfig"),
    kwokKubeconfig: join(dir, "kwok.kubeconfig"),
    kwokConfig: join(dir, "kwok.yaml"),
    simulatedContainerLog: join(dir, "simulated-container.log"),
    execWorkDir: join(dir, "exec"),
    serviceAccountKubeconfigs: join(dir, "serviceaccounts"),
    auditPolicy: join(dir, "audit-policy.yaml"),
    auditLog: join(dir, "audit.log"),
    log: (component) => join(dir, `${component}.log`),
  };
}
