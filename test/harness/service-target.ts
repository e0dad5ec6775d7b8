// `kubectl port-forward service/NAME PORT` picks one pod behind the Service and the pod port the Service port leads
// to; this does the same (pure choice + one lookup), so a port-forward can name the Service a user knows.
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import type { KubeClient } from "../../src/kube/client.ts";

export interface ServiceTarget {
  readonly pod: string;
  readonly port: number;
}

/** Why a Service cannot be port-forwarded, in words that name the fix. */
export class ServiceTargetError extends Error {
  override name = "ServiceTargetError";
}

const isReady = (pod: V1Pod) => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

/**
 * The pod and pod port for `servicePort` of `service` (pure). Pods must already match the Service's selector.
 * Running and Ready pods first (then Running ones), by name for a stable choice; being-deleted pods never.
 */
export function chooseServiceTarget(service: V1Service, pods: readonly V1Pod[], servicePort: number): ServiceTarget {
  const name = `${service.metadata?.namespace}/${service.metadata?.name}`;
  const port = service.spec?.ports?.find((p) => p.port === servicePort);
  if (!port) {
    const known = (service.spec?.ports ?? []).map((p) => p.port).join(", ") || "none";
    throw new ServiceTargetError(`service ${name} has no port ${servicePort} (its ports: ${known})`);
  }
  const candidates = pods
    .filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp)
    .sort(
      (a, b) =>
        Number(isReady(b)) - Number(isReady(a)) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    );
  const pod = candidates[0];
  if (!pod?.metadata?.name) throw new ServiceTargetError(`service ${name} has no running pod behind it`);
  const target = port.targetPort ?? servicePort;
  if (typeof target === "number") return { pod: pod.metadata.name, port: target };
  if (/^\d+$/.test(target)) return { pod: pod.metadata.name, port: Number(target) };
  const named = pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === target);
  if (!named) {
    throw new ServiceTargetError(`pod ${pod.metadata.name} of service ${name} has no container port named "${target}"`);
  }
  return { pod: pod.metadata.name, port: named.containerPort };
}

/** Looks the Service and its pods up, then chooses as above. */
export async function resolveServiceTarget(
  client: KubeClient,
  namespace: string,
  service: string,
  servicePort: number,
): Promise<ServiceTarget> {
  const svc = await client.get<V1Service>({ apiVersion: "v1", kind: "Service", namespace, name: service });
  const selector = svc.spec?.selector ?? {};
  const labelSelector = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  if (labelSelector === "") {
    throw new ServiceTargetError(`service ${namespace}/${service} has no selector: name a pod instead`);
  }
  const pods = await client.list<V1Pod>({ apiVersion: "v1", kind: "Pod" }, { namespace, labelSelector });
  return chooseServiceTarget(svc, pods.items, servicePort);
}
