// The pull-check pods (I/O): one pod per pull secret pulls the image with only that secret, `imagePullPolicy:
// Always` so a cached image proves nothing, as upstream's installer does; polled until the kubelet says pulled or
// failed, then removed. What the pod and its Events said is returned for checks/pull.ts to judge.
import type { V1Node } from "@kubernetes/client-node";
import type { KubeClient } from "../../kube/client.ts";
import type { KubeObject } from "../../kube/types.ts";
import { PULL_CHECK_LABEL, type PullCheckPodView, pullCheckState } from "../install/pull-check.ts";
import type { EventView } from "./checks/pull.ts";

const POLL_MS = 500;
export const DOCTOR_PULL_LABEL = { key: "scone.cloud/doctor", value: "pull-check" } as const;

export interface PullProbeOptions {
  readonly namespace: string;
  readonly secret: string;
  readonly image: string;
  readonly timeoutMs: number;
  /** Run the pod on this node (spec.nodeName); default: where the scheduler puts it. */
  readonly node?: string;
}

export interface PullProbeResult {
  readonly pod: PullCheckPodView | undefined;
  readonly events: readonly EventView[];
  readonly timedOut: boolean;
  readonly simulatedNode: boolean;
}

/** The pod (pure): only the secret under test, no token, tiny, never restarted. */
export function pullProbePod(o: PullProbeOptions, name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace,
      labels: {
        "app.kubernetes.io/managed-by": "scone",
        [PULL_CHECK_LABEL.key]: PULL_CHECK_LABEL.value,
        [DOCTOR_PULL_LABEL.key]: DOCTOR_PULL_LABEL.value,
      },
    },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 1,
      ...(o.node ? { nodeName: o.node } : {}),
      imagePullSecrets: [{ name: o.secret }],
      containers: [
        {
          name: "pull-check",
          image: o.image,
          imagePullPolicy: "Always",
          command: ["sleep", "1"],
          resources: { requests: { cpu: "1m", memory: "8Mi" }, limits: { cpu: "50m", memory: "32Mi" } },
          // What the "restricted" Pod Security level asks, so a namespace enforcing it admits the pod.
          securityContext: {
            allowPrivilegeEscalation: false,
            runAsNonRoot: true,
            runAsUser: 65534,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
          },
        },
      ],
    },
  } as KubeObject;
}

/** The Events of a pod (the kubelet's words about pulls and starts). */
export async function podEvents(kube: KubeClient, namespace: string, name: string): Promise<EventView[]> {
  const list = await kube.list<KubeObject & EventView>(
    { apiVersion: "v1", kind: "Event" },
    { namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` },
  );
  return list.items.map((e) => ({ type: e.type, reason: e.reason, message: e.message }));
}

export async function runPullProbe(kube: KubeClient, o: PullProbeOptions): Promise<PullProbeResult> {
  const name = `scone-doctor-pull-${crypto.randomUUID().slice(0, 8)}`;
  const ref = { apiVersion: "v1", kind: "Pod", namespace: o.namespace, name };
  await kube.create(pullProbePod(o, name));
  const deadline = Date.now() + o.timeoutMs;
  try {
    for (;;) {
      const pod = await kube.tryGet<PullCheckPodView>(ref);
      const state = pod ? pullCheckState(pod) : undefined;
      const done = state?.state === "pulled" || state?.state === "failed";
      if (done || Date.now() >= deadline) {
        const events = await podEvents(kube, o.namespace, name);
        const node = pod?.spec?.nodeName;
        const nodeObj = node
          ? await kube.tryGet<V1Node & KubeObject>({ apiVersion: "v1", kind: "Node", name: node })
          : undefined;
        const simulatedNode = nodeObj?.metadata?.annotations?.["kwok.x-k8s.io/node"] !== undefined;
        return { pod, events, timedOut: !done, simulatedNode };
      }
      await Bun.sleep(POLL_MS);
    }
  } finally {
    await kube.deleteIfExists(ref, { gracePeriodSeconds: 0 }).catch(() => false);
  }
}
