// The test suite's handle on the real local Kubernetes control plane (etcd, kube-apiserver, controller-manager,
// scheduler, kwok). One cluster per `bun test` process: started lazily by the first caller, stopped by test/preload.ts.

export interface LocalCluster {
  readonly kubeconfigPath: string; // admin kubeconfig, client-certificate auth
  readonly server: string; // https://127.0.0.1:PORT
  readonly k8sVersion: string; // e.g. "1.37.2"
  readonly dir: string; // cluster dir (certs, logs, data)
  readonly caPem: string; // cluster CA certificate (PEM)
  kubectl(args: string[], opts?: { stdin?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Stops and starts kube-apiserver on the same port; resolves when /readyz is ok. */
  restartApiServer(): Promise<void>;
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  /** Compacts etcd to its current revision, so older resourceVersions answer 410 Gone. */
  compactEtcd(): Promise<void>;
  /** Path of a kubeconfig holding a bound token (TokenRequest) for that ServiceAccount; same server and CA. */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

/** False when SCONE_SKIP_CLUSTER=1: integration tests skip themselves then. */
export function clusterAvailable(): boolean {
  return process.env.SCONE_SKIP_CLUSTER !== "1";
}

let shared: Promise<LocalCluster> | undefined;

/** The process-wide cluster (memoized); honours SCONE_K8S_VERSION. */
export function sharedCluster(): Promise<LocalCluster> {
  shared ??= Promise.reject(new Error("test/harness/cluster.ts: local cluster not implemented yet (issue 3)"));
  return shared;
}

/** Stops the shared cluster if one was started (test/preload.ts afterAll). */
export async function stopSharedCluster(): Promise<void> {
  const started = shared;
  shared = undefined;
  if (started) await (await started.catch(() => undefined))?.stop();
}
