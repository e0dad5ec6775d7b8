// Where the real node's files live. Its configuration, data and logs go under the cluster directory; sockets and
// containerd's state go under RUNTIME_DIR, short and host-wide, because unix socket paths are limited to 107 bytes
// and there is only one real node per machine (lock.ts).
import { join } from "node:path";

export const RUNTIME_DIR = "/run/scone-node";
/** containerd puts shim sockets here whatever its state directory (pkg/shim SocketAddress). */
export const SHIM_SOCKET_DIR = "/run/containerd/s";
/** kubelet links every container log here (hard-coded in kubelet); the teardown removes links into our dir. */
export const KUBELET_LOG_LINKS = "/var/log/containers";

export const NODE_COMPONENTS = ["containerd", "registry", "coredns", "kubelet", "kube-proxy"] as const;
export type NodeComponent = (typeof NODE_COMPONENTS)[number];

export interface NodeLayout {
  readonly dir: string;
  readonly runtimeDir: string;
  readonly ownerFile: string;
  readonly containerdConfig: string;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly containerdSocket: string;
  readonly containerdOpt: string;
  readonly runcRoot: string;
  readonly registryHosts: string;
  readonly cniConfDir: string;
  readonly cniIpamDir: string;
  readonly kubeletRoot: string;
  readonly kubeletConfig: string;
  readonly kubeletKubeconfig: string;
  readonly podLogs: string;
  readonly volumePlugins: string;
  readonly resolvConf: string;
  readonly kubeProxyConfig: string;
  readonly kubeProxyKubeconfig: string;
  readonly corefile: string;
  readonly corednsKubeconfig: string;
  readonly images: string;
  /** Shell variables for hack/cluster/node/teardown.sh (the watchdog runs it when the test process was killed). */
  readonly teardownEnv: string;
  readonly log: (component: NodeComponent) => string;
}

export function nodeLayout(clusterDir: string, runtimeDir = RUNTIME_DIR): NodeLayout {
  const dir = join(clusterDir, "node");
  return {
    dir,
    runtimeDir,
    ownerFile: join(runtimeDir, "owner"),
    containerdConfig: join(dir, "containerd.toml"),
    containerdRoot: join(dir, "containerd"),
    containerdState: join(runtimeDir, "state"),
    containerdSocket: join(runtimeDir, "containerd.sock"),
    containerdOpt: join(dir, "containerd-opt"),
    runcRoot: join(runtimeDir, "runc"),
    registryHosts: join(dir, "certs.d"),
    cniConfDir: join(dir, "cni", "net.d"),
    cniIpamDir: join(dir, "cni", "ipam"),
    kubeletRoot: join(dir, "kubelet"),
    kubeletConfig: join(dir, "kubelet.yaml"),
    kubeletKubeconfig: join(dir, "kubelet.kubeconfig"),
    podLogs: join(dir, "pod-logs"),
    volumePlugins: join(dir, "volume-plugins"),
    resolvConf: join(dir, "resolv.conf"),
    kubeProxyConfig: join(dir, "kube-proxy.yaml"),
    kubeProxyKubeconfig: join(dir, "kube-proxy.kubeconfig"),
    corefile: join(dir, "Corefile"),
    corednsKubeconfig: join(dir, "coredns.kubeconfig"),
    images: join(dir, "images"),
    teardownEnv: join(dir, "teardown.env"),
    log: (component) => join(clusterDir, `node-${component}.log`),
  };
}
