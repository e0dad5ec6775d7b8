// The test suite's handle on the real local Kubernetes control plane (etcd, kube-apiserver, controller-manager,
// scheduler, kwok with 4 simulated nodes). One cluster per `bun test` process: started lazily by the first caller,
// stopped by test/preload.ts after every file has run, and on SIGINT/SIGTERM. A watchdog process kills it should
// this process die without either (SIGKILL).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ControlPlane } from "../../hack/cluster/control-plane.ts";

/** The real worker node of a cluster started with { realNode: true } (test/integration/realnode). */
export interface RealNodeHandle {
  readonly name: string; // the Node object's name
  readonly ip: string; // its InternalIP (on lo)
  /** host:port of the local OCI registry (plain HTTP on loopback) the node pulls from. */
  readonly registry: string;
  /** Imported into containerd's k8s.io namespace: busybox with `sh` (and the pinned pause image). */
  readonly busyboxImage: string;
  /** `ctr images import` of an OCI archive (tar of an OCI image layout). */
  importArchive(archive: string): Promise<void>;
  /** Pushes an OCI image layout (one image) to the registry as repository:tag; returns the pullable reference. */
  pushLayout(layoutDir: string, repositoryAndTag: string): Promise<string>;
  /** SIGKILLs a container of a pod on this node (CRI id: pod status containerID without "containerd://"). */
  killContainer(containerId: string): Promise<void>;
  /** Puts a simulated (KWOK) pod's IP on lo so a server bound there is that pod for the real node; returns the undo. */
  exposeSimulatedPod(podIp: string): Promise<() => Promise<void>>;
}

export interface LocalCluster {
  readonly kubeconfigPath: string; // admin kubeconfig, client-certificate auth
  readonly server: string; // https://127.0.0.1:PORT
  readonly k8sVersion: string; // e.g. "1.37.2"
  readonly dir: string; // cluster dir (certs, logs, data)
  readonly caPem: string; // cluster CA certificate (PEM)
  /** Set when the cluster was started with a real node. */
  readonly realNode?: RealNodeHandle;
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

const running = new Set<ControlPlane>();
const planes = new WeakMap<LocalCluster, ControlPlane>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Interrupted: no graceful stop (it could queue behind a restart in progress), kill and remove at once.
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    process.on(signal, () => {
      for (const cluster of running) cluster.destroySync();
      process.exit(code);
    });
  };
  onSignal("SIGINT", 130);
  onSignal("SIGTERM", 143);
  // Whatever else ends the process: no async work is possible here, so SIGKILL; the watchdog removes the dir.
  process.on("exit", () => {
    for (const cluster of running) cluster.killSync();
  });
}

function wrap(plane: ControlPlane, realNode: RealNodeHandle | undefined): LocalCluster {
  let stopped: Promise<void> | undefined;
  return {
    ...(realNode ? { realNode } : {}),
    kubeconfigPath: plane.kubeconfigPath,
    server: plane.server,
    k8sVersion: plane.k8sVersion,
    dir: plane.layout.dir,
    caPem: plane.caPem,
    kubectl: (args, opts) => plane.kubectl(args, opts),
    restartApiServer: () => plane.restartApiServer(),
    stopApiServer: () => plane.stopApiServer(),
    startApiServer: () => plane.startApiServer(),
    compactEtcd: async () => {
      await plane.compactEtcd();
    },
    serviceAccountKubeconfig: (namespace, name) => plane.serviceAccountKubeconfig(namespace, name),
    stop: () => {
      stopped ??= plane.stop().finally(() => running.delete(plane));
      return stopped;
    },
  };
}

export interface StartClusterOptions {
  /** Also a real worker node (kubelet, containerd, kube-proxy, DNS, registry): root only, one per machine. */
  readonly realNode?: boolean;
}

/** A new cluster of its own in a temporary directory (most tests want sharedCluster instead). */
export async function startLocalCluster(k8sVersion?: string, options: StartClusterOptions = {}): Promise<LocalCluster> {
  if (!clusterAvailable()) throw new Error("SCONE_SKIP_CLUSTER=1: no local cluster in this run");
  // Loaded here, not at the top: unit-test runs preload this file and must not pay for the PKI libraries.
  const { ControlPlane } = await import("../../hack/cluster/control-plane.ts");
  const { requestedK8sVersion } = await import("../../hack/cluster/binaries.ts");
  installExitHandlers();
  const dir = await mkdtemp(join(tmpdir(), "scone-test-cluster-"));
  const plane = await ControlPlane.start({
    dir,
    k8sVersion: k8sVersion ?? requestedK8sVersion(),
    ownerPid: process.pid,
    log: (line) => console.error(`[local cluster] ${line}`),
    // Tracked from its first process on: bun may end the run while a start is still waiting (hook timeout).
    onLaunching: (starting) => running.add(starting),
    realNode: options.realNode ?? false,
  }).catch(async (error: unknown) => {
    // The error carries the components' log tails; a temporary directory per failed start would only pile up.
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const cluster = wrap(plane, plane.realNode ? await realNodeHandle(plane.realNode) : undefined);
  planes.set(cluster, plane);
  return cluster;
}

async function realNodeHandle(node: NonNullable<ControlPlane["realNode"]>): Promise<RealNodeHandle> {
  const { NODE_IP, NODE_NAME } = await import("../../hack/cluster/node/addresses.ts");
  const { BUSYBOX_IMAGE } = await import("../../hack/cluster/node/configs.ts");
  return {
    name: NODE_NAME,
    ip: NODE_IP,
    registry: node.registry,
    busyboxImage: BUSYBOX_IMAGE,
    importArchive: (archive) => node.importArchive(archive),
    pushLayout: (layoutDir, repositoryAndTag) => node.pushLayout(layoutDir, repositoryAndTag),
    exposeSimulatedPod: (podIp) => node.exposeSimulatedPod(podIp),
    killContainer: (containerId) => node.killContainer(containerId),
  };
}

/** Alias with options first: startCluster({ realNode: true }). */
export function startCluster(options: StartClusterOptions & { k8sVersion?: string } = {}): Promise<LocalCluster> {
  return startLocalCluster(options.k8sVersion, options);
}

let sharedRealNode: Promise<LocalCluster> | undefined;

/**
 * The process-wide cluster with a real node (memoized; the realnode test files share it, a real node being
 * machine-wide). Separate from sharedCluster, whose callers expect the KWOK nodes only. Stopped with it.
 */
export async function realNodeCluster(): Promise<LocalCluster> {
  sharedRealNode ??= startCluster({ realNode: true });
  const pending = sharedRealNode;
  try {
    const cluster = await pending;
    await planes.get(cluster)?.revive();
    return cluster;
  } catch (error) {
    if (sharedRealNode === pending) sharedRealNode = undefined;
    throw error;
  }
}

let shared: Promise<LocalCluster> | undefined;

/**
 * The process-wide cluster (memoized); honours SCONE_K8S_VERSION. Components killed since the last call (bun kills
 * the child processes of a test that times out) are started again first, so one timeout does not fail every
 * later file; the four simulated nodes are there and Ready when it resolves.
 */
export async function sharedCluster(): Promise<LocalCluster> {
  // A failed start is not memoized, and a caller that was waiting for it tries once more itself: the failure is
  // often bun killing the processes of a hook that timed out (5 s by default), not a broken cluster. A cluster
  // that cannot be revived is stopped and replaced the same way.
  for (let attempt = 1; ; attempt++) {
    shared ??= startLocalCluster();
    const pending = shared;
    let cluster: LocalCluster;
    try {
      cluster = await pending;
      await planes.get(cluster)?.revive();
    } catch (error) {
      if (shared === pending) {
        shared = undefined;
        await (await pending.catch(() => undefined))?.stop().catch(() => undefined);
      }
      if (attempt >= 2) throw error;
      continue;
    }
    // A file before this one may have deleted a harness node and created it again (not Ready yet). A failure here
    // is not the cluster's: no replacement.
    await planes.get(cluster)?.ensureSimulatedNodes();
    return cluster;
  }
}

/** Stops the shared cluster if one was started (test/preload.ts afterAll). */
/** Stops the real-node cluster if one was started; the next realNodeCluster() starts a new one. */
export async function stopRealNodeCluster(): Promise<void> {
  const started = sharedRealNode;
  sharedRealNode = undefined;
  if (started) await (await started.catch(() => undefined))?.stop();
}

export async function stopSharedCluster(): Promise<void> {
  const started = [shared, sharedRealNode];
  shared = undefined;
  sharedRealNode = undefined;
  for (const cluster of started) if (cluster) await (await cluster.catch(() => undefined))?.stop();
}
