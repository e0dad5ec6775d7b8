// Cluster DNS as API objects: CoreDNS runs on the host at the node's address (no image to build for it), so the
// kube-dns Service has no selector and one EndpointSlice pointing there; kube-proxy maps CLUSTER_DNS_IP to it.
import { CLUSTER_DNS_IP, NODE_IP } from "./addresses.ts";

interface ApiObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

const ROLE = "system:scone-coredns";

/** [collection path, object] in creation order. user: the CN of CoreDNS's client certificate. */
export function coreDnsObjects(user: string): [string, ApiObject][] {
  const labels = { "k8s-app": "kube-dns", "app.kubernetes.io/managed-by": "scone-harness" };
  return [
    [
      "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: ROLE },
        // What CoreDNS's kubernetes plugin watches (its upstream deployment's ClusterRole).
        rules: [
          { apiGroups: [""], resources: ["services", "pods", "namespaces"], verbs: ["list", "watch"] },
          { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        ],
      },
    ],
    [
      "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: ROLE },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: ROLE },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
      },
    ],
    [
      "/api/v1/namespaces/kube-system/services",
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "kube-dns", namespace: "kube-system", labels },
        spec: {
          clusterIP: CLUSTER_DNS_IP,
          ports: [
            { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
            { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
          ],
        },
      },
    ],
    [
      "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: "kube-dns-host",
          namespace: "kube-system",
          labels: {
            "kubernetes.io/service-name": "kube-dns",
            "endpointslice.kubernetes.io/managed-by": "scone-harness",
          },
        },
        addressType: "IPv4",
        endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
        ports: [
          { name: "dns", protocol: "UDP", port: 53 },
          { name: "dns-tcp", protocol: "TCP", port: 53 },
        ],
      },
    ],
  ];
}
