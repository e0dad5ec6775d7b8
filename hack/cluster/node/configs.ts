// The real node's configuration files, as objects serialized once. Pure: layout, binaries and ports in, text out.
// Each setting that differs from upstream defaults says why (most were found by running the node on this machine).
import { stringify } from "yaml";
import {
  BRIDGE,
  CLUSTER_DNS_IP,
  CLUSTER_DOMAIN,
  CLUSTER_POD_CIDR,
  NODE_IP,
  NODE_NAME,
  POD_GATEWAY,
  POD_ROUTED_RANGE,
  POD_SUBNET,
} from "./addresses.ts";
import type { NodeLayout } from "./layout.ts";
import { stringifyToml } from "./toml.ts";

/** The pause image: busybox's `sleep`, imported from the OCI archive (nothing can be pulled from the internet). */
export const SANDBOX_IMAGE = "scone.local/pause:busybox";
export const BUSYBOX_IMAGE = "scone.local/busybox:1";

export interface NodePorts {
  readonly kubelet: number;
  readonly kubeletHealthz: number;
  readonly kubeProxyHealthz: number;
  readonly kubeProxyMetrics: number;
  readonly registry: number;
  readonly corednsReady: number;
}

export function registryHost(ports: NodePorts): string {
  return `127.0.0.1:${ports.registry}`;
}

export function containerdConfig(layout: NodeLayout, runc: string): string {
  return stringifyToml({
    version: 3,
    root: layout.containerdRoot,
    state: layout.containerdState,
    // Plugins that would listen or write outside our directories, and tracing nobody reads.
    disabled_plugins: ["io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp"],
    grpc: { address: layout.containerdSocket },
    plugins: {
      "io.containerd.internal.v1.opt": { path: layout.containerdOpt },
      "io.containerd.grpc.v1.cri": { stream_server_address: "127.0.0.1", stream_server_port: "0" },
      "io.containerd.cri.v1.images": {
        snapshotter: "overlayfs",
        // Nothing is pulled from the internet: the sandbox image is imported and pinned, so GC keeps it.
        pinned_images: { sandbox: SANDBOX_IMAGE },
        registry: { config_path: layout.registryHosts },
      },
      "io.containerd.cri.v1.runtime": {
        // No CAP_SYS_RESOURCE in this VM: lowering oom_score_adj is denied and every sandbox would fail.
        restrict_oom_score_adj: true,
        netns_mounts_under_state_dir: true,
        cni: { bin_dirs: ["/usr/lib/cni"], conf_dir: layout.cniConfDir, max_conf_num: 1 },
        containerd: {
          default_runtime_name: "runc",
          runtimes: {
            runc: {
              runtime_type: "io.containerd.runc.v2",
              // Debian's runc 1.1.5 fails every sandbox ("can't get final child's PID from pipe: EOF").
              options: { BinaryName: runc, Root: layout.runcRoot, SystemdCgroup: false },
            },
          },
        },
      },
    },
  });
}

/** A containerd hosts.toml sending every pull of its registry to `url`, nothing else. */
function hostsToml(url: string): string {
  return stringifyToml({ server: url, host: { [url]: { capabilities: ["pull", "resolve"] } } });
}

/** hosts.toml of the local registry: plain HTTP on loopback, nothing else. */
export function registryHostsToml(ports: NodePorts): string {
  return hostsToml(`http://${registryHost(ports)}`);
}

/**
 * Every other registry (containerd's `_default` host directory) is a closed port on loopback: a pull of an image the
 * node does not hold (registry.scontain.com/…, say) fails at once, and containerd, a host process, never asks the
 * machine's DNS resolver for an outside name. (Port 9, discard: below 1024, and nothing here serves it.)
 */
export const NO_REGISTRY = "http://127.0.0.1:9";
export function otherRegistriesHostsToml(): string {
  return hostsToml(NO_REGISTRY);
}

export function cniConfig(layout: NodeLayout): string {
  const config = {
    cniVersion: "1.0.0",
    name: "scone",
    plugins: [
      {
        type: "bridge",
        bridge: BRIDGE,
        isGateway: true,
        // No masquerading and no default route: pods reach 198.18.0.0/15 (pods, services, this node), nothing else.
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: POD_SUBNET, gateway: POD_GATEWAY }]],
          routes: [{ dst: POD_ROUTED_RANGE }],
          dataDir: layout.cniIpamDir,
        },
      },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export function kubeletConfig(layout: NodeLayout, ports: NodePorts, caFile: string, runtimeEndpoint: string): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // This kernel runs cgroup v1; kubelet ≥1.35 refuses it unless told (KEP-5573), and no systemd manages cgroups.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    failSwapOn: false,
    address: NODE_IP,
    port: ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: ports.kubeletHealthz,
    // logs/exec come from the API server with its kubelet-client certificate (cluster CA); nobody else gets in.
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: caFile },
    },
    authorization: { mode: "AlwaysAllow" },
    containerRuntimeEndpoint: runtimeEndpoint,
    clusterDNS: [CLUSTER_DNS_IP],
    clusterDomain: CLUSTER_DOMAIN,
    resolvConf: layout.resolvConf,
    podLogsDir: layout.podLogs,
    volumePluginDir: layout.volumePlugins,
    registerNode: true,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    // The host's disk is shared with everything else: imported images must not be collected, pods not evicted.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    maxPods: 50,
    nodeStatusReportFrequency: "10s",
  });
}

export function kubeProxyConfig(layout: NodeLayout, ports: NodePorts): string {
  return stringify({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig: layout.kubeProxyKubeconfig },
    hostnameOverride: NODE_NAME,
    bindAddress: NODE_IP,
    mode: "iptables",
    clusterCIDR: CLUSTER_POD_CIDR,
    detectLocalMode: "ClusterCIDR",
    healthzBindAddress: `127.0.0.1:${ports.kubeProxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${ports.kubeProxyMetrics}`,
    // NodePorts only on the node's own address, never on eth0 or loopback.
    nodePortAddresses: [`${NODE_IP}/32`],
    iptables: { localhostNodePorts: false, masqueradeAll: false },
    // 0: leave the host's conntrack sysctls as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
  });
}

/** CoreDNS on the node's address: cluster.local from the API server, nothing forwarded beyond this machine. */
export function corefile(layout: NodeLayout, ports: NodePorts): string {
  return [
    `.:53 {`,
    `    bind ${NODE_IP}`,
    `    errors`,
    `    ready 127.0.0.1:${ports.corednsReady}`,
    `    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {`,
    `        kubeconfig ${layout.corednsKubeconfig} coredns`,
    `        pods insecure`,
    `        fallthrough in-addr.arpa ip6.arpa`,
    `    }`,
    `    cache 5`,
    `}`,
    "",
  ].join("\n");
}

/** Pods with dnsPolicy Default get this: no nameserver, so nothing is resolved outside the cluster. */
export function hostResolvConf(): string {
  return `search ${CLUSTER_DOMAIN}\n`;
}
