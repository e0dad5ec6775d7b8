// The command line of each control-plane process. Pure: paths and ports in, argv out.
import { join } from "node:path";
import type { KubeBinaries } from "./binaries.ts";
import type { ClusterLayout, ComponentName } from "./layout.ts";

export interface ClusterPorts {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  /** kwok's kubelet-style server: the API server proxies logs/exec/port-forward of simulated pods here. */
  readonly kwok: number;
}

export interface ComponentSpec {
  readonly name: ComponentName;
  readonly binary: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** Inside 198.18.0.0/15 like every address of the local cluster (never 10/8, 172.16/12, 192.168/16). */
export const SERVICE_CIDR = "198.19.0.0/20";
/** The `kubernetes` Service's ClusterIP: the first address of SERVICE_CIDR; it is a SAN of the serving cert. */
export const FIRST_SERVICE_IP = "198.19.0.1";
export const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";
/** kwok manages only nodes carrying this annotation, so a node created for another purpose stays untouched. */
export const KWOK_NODE_ANNOTATION = { key: "kwok.x-k8s.io/node", value: "fake" } as const;
/** kwok renews each node's Lease at this period; the node lifecycle controller's grace period is above it. */
const NODE_LEASE_SECONDS = 40;
const KWOK_CAS_EXEC_BIN = join(import.meta.dir, "..", "..", "sim", "kwok-cas", "exec-bin");

export function etcdClientUrl(ports: ClusterPorts): string {
  return `http://127.0.0.1:${ports.etcdClient}`;
}

/**
 * The cluster's addresses where they depend on a real node. Without one, kube-apiserver listens on loopback and
 * kwok keeps its default pod CIDR (nothing routes there). With one, whose pods must reach the API server and
 * simulated pods: the node's address (on lo), advertised in the `kubernetes` Service's endpoints, and simulated
 * pods get addresses from 198.18.0.0/15 that a test can put on lo (RealNode.exposeSimulatedPod).
 */
export interface ClusterNetwork {
  readonly apiserverAddress: string;
  readonly inClusterEndpoints: boolean;
  /** kwok's --cidr (first address/prefix, kwok's format), when not its default. */
  readonly simulatedPodCidr?: string;
}
export const LOOPBACK_NETWORK: ClusterNetwork = { apiserverAddress: "127.0.0.1", inClusterEndpoints: false };

export function componentSpecs(
  bin: KubeBinaries,
  layout: ClusterLayout,
  ports: ClusterPorts,
  network: ClusterNetwork = LOOPBACK_NETWORK,
): Record<ComponentName, ComponentSpec> {
  const pki = layout.pki;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
  return {
    etcd: {
      name: "etcd",
      binary: bin.etcd,
      args: [
        "--name=scone",
        `--data-dir=${layout.etcdData}`,
        `--listen-client-urls=${etcdClientUrl(ports)}`,
        `--advertise-client-urls=${etcdClientUrl(ports)}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=scone=${peerUrl}`,
        "--unsafe-no-fsync", // a throwaway store: durability costs seconds per start on slow disks
        "--log-level=warn",
      ],
    },
    "kube-apiserver": {
      name: "kube-apiserver",
      binary: bin.kubeApiserver,
      args: [
        `--etcd-servers=${etcdClientUrl(ports)}`,
        `--bind-address=${network.apiserverAddress}`,
        `--advertise-address=${network.apiserverAddress}`,
        `--secure-port=${ports.apiserver}`,
        `--tls-cert-file=${pki.cert("apiserver")}`,
        `--tls-private-key-file=${pki.key("apiserver")}`,
        `--client-ca-file=${pki.caCert}`,
        "--authorization-mode=Node,RBAC",
        // The default admission chain stays on (ServiceAccount, webhooks, ResourceQuota, ...): operators under test
        // must see what a real cluster does.
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        `--kubelet-client-certificate=${pki.cert("apiserver-kubelet-client")}`,
        `--kubelet-client-key=${pki.key("apiserver-kubelet-client")}`,
        // Simulated nodes all report 127.0.0.1 with kwok's port as their kubelet endpoint.
        "--kubelet-preferred-address-types=InternalIP",
        "--allow-privileged=true",
        // A loopback advertise address is not a valid Endpoints address; only a real node's pods dial the apiserver.
        `--endpoint-reconciler-type=${network.inClusterEndpoints ? "lease" : "none"}`,
        "--profiling=false",
        `--audit-policy-file=${layout.auditPolicy}`,
        `--audit-log-path=${layout.auditLog}`,
        "--audit-log-maxsize=100", // MB; only ServiceAccounts outside kube-system are logged (files.ts)
        "--audit-log-maxbackup=1",
      ],
    },
    "kube-controller-manager": {
      name: "kube-controller-manager",
      binary: bin.kubeControllerManager,
      args: [
        `--kubeconfig=${layout.controllerManagerKubeconfig}`,
        "--secure-port=0", // no metrics/health endpoint needed: liveness is checked through the process
        "--use-service-account-credentials",
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--cluster-signing-cert-file=${pki.caCert}`,
        `--cluster-signing-key-file=${pki.caKey}`,
        "--controllers=*",
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        "--leader-elect=false", // one instance; skips the lease round-trip on every start
        `--node-monitor-grace-period=${NODE_LEASE_SECONDS * 2}s`,
        "--kube-api-qps=100",
        "--kube-api-burst=200",
        "--profiling=false",
      ],
    },
    "kube-scheduler": {
      name: "kube-scheduler",
      binary: bin.kubeScheduler,
      args: [
        `--kubeconfig=${layout.schedulerKubeconfig}`,
        "--secure-port=0",
        "--leader-elect=false",
        "--kube-api-qps=100",
        "--kube-api-burst=200",
        "--profiling=false",
      ],
    },
    kwok: {
      name: "kwok",
      binary: bin.kwok,
      // What `kwokctl create cluster --runtime binary` passes (pkg/kwokctl/components/kwok_controller.go), with our
      // own certificate, a node selector and loopback addresses.
      args: [
        "--manage-all-nodes=false",
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION.key}=${KWOK_NODE_ANNOTATION.value}`,
        `--kubeconfig=${layout.kwokKubeconfig}`,
        `--config=${layout.kwokConfig}`,
        `--tls-cert-file=${pki.cert("kwok")}`,
        `--tls-private-key-file=${pki.key("kwok")}`,
        "--node-ip=127.0.0.1",
        "--node-name=localhost",
        `--node-port=${ports.kwok}`,
        `--server-address=127.0.0.1:${ports.kwok}`,
        `--node-lease-duration-seconds=${NODE_LEASE_SECONDS}`,
        // PortForward, Logs and Exec objects in the cluster (CRDs installed by the harness) say where a pod's port,
        // log and exec lead; the ClusterLogs/ClusterExec defaults of kwok.yaml serve every other pod.
        "--enable-crds=PortForward,Logs,Exec",
        ...(network.simulatedPodCidr ? [`--cidr=${network.simulatedPodCidr}`] : []),
      ],
      // `kubectl exec` of a simulated pod runs on this host; sim/kwok-cas's shims come first on PATH so a CAS pod's
      // absolute mount paths (/etc/cas/db, ...) map into that pod's directory. Elsewhere they run commands unchanged.
      env: { PATH: `${KWOK_CAS_EXEC_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}` },
    },
  };
}
