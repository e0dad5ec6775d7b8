// The real node's addresses: everything inside 198.18.0.0/15 (RFC 2544 benchmarking space), nothing from 10/8,
// 172.16/12 or 192.168/16, so no route of this machine or its network is shadowed.
export const NODE_NAME = "scone-real-node";
/** On `lo` (this kernel has no dummy interfaces): kubelet refuses a loopback node IP, and pods must reach it. */
export const NODE_IP = "198.19.255.1";
/** Every pod network of the cluster (kube-proxy's cluster CIDR); the real node's pods get POD_SUBNET from it. */
export const CLUSTER_POD_CIDR = "198.18.0.0/16";
export const POD_SUBNET = "198.18.1.0/24";
/** Simulated (KWOK) pods' addresses, kwok's --cidr format; a test may put one on lo to serve the pod's ports. */
export const SIMULATED_POD_CIDR = "198.18.2.1/24";
/** The prefix the teardown removes from lo: every simulated pod address a test left there. */
export const SIMULATED_POD_PREFIX = "198.18.2.";
export const POD_GATEWAY = "198.18.1.1";
/** Pods route only this range (pods, services, the node): nothing they send leaves the machine. */
export const POD_ROUTED_RANGE = "198.18.0.0/15";
/** The Linux bridge of the pod network; one real node per machine (see lock.ts), so a fixed name. */
export const BRIDGE = "scone0";
/** Cluster DNS: the kube-dns Service's ClusterIP (inside the real-node service range, components.ts). */
export const CLUSTER_DNS_IP = "198.19.0.10";
export const CLUSTER_DOMAIN = "cluster.local";
