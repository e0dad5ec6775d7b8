// The frame of a node agent's DaemonSet (LAS, SGXPlugin; pure): names, labels and the node-by-node rollout around
// the pod spec the agent renders.
import type { V1DaemonSet, V1PodSpec, V1RollingUpdateDaemonSet } from "@kubernetes/client-node";
import { APP_INSTANCE_LABEL, APP_NAME_LABEL } from "../kit/labels.ts";
import { compact } from "../kit/render.ts";

export interface AgentDaemonSet {
  readonly name: string;
  readonly namespace: string;
  /** app.kubernetes.io/name: the whole selector. It is immutable: it names the app only, so another resource of the
   * kind can take the DaemonSet over. */
  readonly app: string;
  /** The resource's name (app.kubernetes.io/instance). */
  readonly instance: string;
  readonly component: string;
  readonly rollingUpdate: V1RollingUpdateDaemonSet;
  readonly podAnnotations?: Record<string, string> | undefined;
  readonly podSpec: V1PodSpec;
}

export function agentDaemonSet(a: AgentDaemonSet): V1DaemonSet {
  const selector = { [APP_NAME_LABEL]: a.app };
  const labels = {
    ...selector,
    [APP_INSTANCE_LABEL]: a.instance,
    "app.kubernetes.io/component": a.component,
    "app.kubernetes.io/part-of": "scone",
  };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: a.name, namespace: a.namespace, labels },
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: a.rollingUpdate },
      template: {
        metadata: { labels, ...compact({ annotations: a.podAnnotations }) },
        spec: a.podSpec,
      },
    },
  };
}
