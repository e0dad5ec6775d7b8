// The kwok objects that make a simulated CAS pod answer like a real one through the API server (pure). kwok looks
// them up by the pod's namespace and name (namespaced Logs/Exec/PortForward win over the cluster-wide defaults):
//   Logs         container cas → the simulator's console, audit → the audit log (CRI-format files)
//   Exec         any container → a local command in the pod root (see pod-root.ts)
//   PortForward  client port → the simulator's client API, enclave port → its enclave API
// Each is owned by the pod, so the garbage collector removes leftovers should the runtime not be running.
import type { KubeObject } from "../../src/kube/types.ts";
import { AUDIT_CONTAINER, CAS_CONTAINER, type CasPodPlan } from "./plan.ts";

export const KWOK_API_VERSION = "kwok.x-k8s.io/v1alpha1";
export const KWOK_KINDS = [
  { kind: "Logs", plural: "logs" },
  { kind: "Exec", plural: "execs" },
  { kind: "PortForward", plural: "portforwards" },
] as const;
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "scone-kwok-cas" };

export interface RunningEndpoints {
  readonly clientPort: number;
  readonly enclavePort: number;
}

export interface KwokObjectInput {
  readonly plan: CasPodPlan;
  readonly root: string;
  readonly casLog: string;
  readonly auditContainerLog: string;
  /** Undefined while the simulator is not running (e.g. it cannot unseal its database): no port leads anywhere. */
  readonly endpoints: RunningEndpoints | undefined;
}

function meta(plan: CasPodPlan) {
  return {
    name: plan.pod,
    namespace: plan.namespace,
    labels: { ...MANAGED_BY },
    ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: plan.pod, uid: plan.uid }],
  };
}

export function renderKwokObjects(input: KwokObjectInput): KubeObject[] {
  const { plan } = input;
  const logs = {
    apiVersion: KWOK_API_VERSION,
    kind: "Logs",
    metadata: meta(plan),
    spec: {
      logs: [
        { containers: [CAS_CONTAINER], logsFile: input.casLog, follow: true },
        { containers: [AUDIT_CONTAINER], logsFile: input.auditContainerLog, follow: true },
      ],
    },
  };
  const exec = {
    apiVersion: KWOK_API_VERSION,
    kind: "Exec",
    metadata: meta(plan),
    spec: { execs: [{ local: { workDir: input.root } }] },
  };
  const portForward = {
    apiVersion: KWOK_API_VERSION,
    kind: "PortForward",
    metadata: meta(plan),
    spec: {
      forwards: input.endpoints
        ? [
            { ports: [plan.clientPort], target: { address: "127.0.0.1", port: input.endpoints.clientPort } },
            { ports: [plan.enclavePort], target: { address: "127.0.0.1", port: input.endpoints.enclavePort } },
          ]
        : [],
    },
  };
  // Logs last: kwok learns each kind through its own watch, and clients wait for the CAS console (the key hash line)
  // before they exec or port-forward — by the time kwok serves this pod's console, it has seen the other two.
  return [exec, portForward, logs];
}
