// The LeaseStore port of leader election, on the kube client.
import type { V1Lease } from "@kubernetes/client-node";
import type { KubeClient } from "../kube/client.ts";
import type { KubeObject } from "../kube/types.ts";
import type { LeaseStore } from "../runtime/leader-election.ts";

const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;

export function kubeLeaseStore(client: KubeClient): LeaseStore {
  return {
    get: async (namespace, name) =>
      (await client.tryGet<KubeObject>({ ...LEASE, namespace, name })) as V1Lease | undefined,
    create: async (lease) => (await client.create({ ...LEASE, ...lease } as KubeObject)) as V1Lease,
    replace: async (lease) => (await client.replace({ ...LEASE, ...lease } as KubeObject)) as V1Lease,
  };
}
