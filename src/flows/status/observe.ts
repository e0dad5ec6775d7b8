// What the day-2 flows (status, evict, upgrade, backup, restore) read about one CAS: the CAS resource, its pod NAME-0,
// the nodes, and the zone of its database volume. Thin I/O over the kube client; everything decided from it is pure
// (plan modules) so it can be tested without a cluster.
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "../../kube/client.ts";
import type { ObjectRef } from "../../kube/types.ts";
import type { CAS } from "../../resources/cas.ts";

/** The slice of KubeClient the day-2 flows use (tests pass an in-memory fake). */
export type DayTwoKube = Pick<
  KubeClient,
  "get" | "tryGet" | "list" | "patch" | "delete" | "create" | "apply" | "podLogs"
>;

/** `kubectl exec` with optional stdin (src/kube/exec.ts's execInPod bound to a connection; tests pass a fake). */
export type PodExec = (options: {
  namespace: string;
  pod: string;
  container?: string;
  command: readonly string[];
  stdin?: Uint8Array;
  timeoutMs?: number;
}) => Promise<{ exitCode: number; stdout: Uint8Array; stderr: string }>;

export const CAS_API_VERSION = "services.scone.cloud/v1beta1";
/** Field manager of every write the day-2 flows make (visible in managedFields). */
export const DAY2_FIELD_MANAGER = "scone-cas";
const ZONE_LABEL = "topology.kubernetes.io/zone";

export interface CasId {
  readonly namespace: string;
  readonly name: string;
}

export const casRef = (id: CasId): ObjectRef => ({ apiVersion: CAS_API_VERSION, kind: "CAS", ...id });
export const podName = (id: CasId): string => `${id.name}-0`;
export const podRef = (id: CasId): ObjectRef => ({
  apiVersion: "v1",
  kind: "Pod",
  namespace: id.namespace,
  name: podName(id),
});
export const databaseClaimName = (id: CasId): string => `database-${id.name}-0`;
export const nodeRef = (name: string): ObjectRef => ({ apiVersion: "v1", kind: "Node", name });
export const casLabel = (id: CasId): string => `CAS ${id.namespace}/${id.name}`;

export interface CasObservation {
  readonly cas: CAS | undefined;
  readonly pod: V1Pod | undefined;
  readonly nodes: readonly V1Node[];
  /** Zone of the database volume (its PV's node affinity or zone label); undefined when unknown. */
  readonly volumeZone: string | undefined;
}

export async function readCas(kube: DayTwoKube, id: CasId): Promise<CAS | undefined> {
  return kube.tryGet<CAS>(casRef(id));
}

export async function readPod(kube: DayTwoKube, id: CasId): Promise<V1Pod | undefined> {
  return kube.tryGet<V1Pod & { metadata: { name: string } }>(podRef(id));
}

export async function listNodes(kube: DayTwoKube): Promise<V1Node[]> {
  return (await kube.list<V1Node & { metadata: { name: string } }>({ apiVersion: "v1", kind: "Node" })).items;
}

/** The zone a PV is pinned to: its zone label, else a node-affinity term on the zone label with one value. */
export function zoneOfVolume(pv: V1PersistentVolume | undefined): string | undefined {
  if (!pv) return undefined;
  const labelled = pv.metadata?.labels?.[ZONE_LABEL];
  if (labelled) return labelled;
  for (const term of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    for (const e of term.matchExpressions ?? []) {
      if (e.key === ZONE_LABEL && e.operator === "In" && e.values?.length === 1) return e.values[0];
    }
  }
  return undefined;
}

export async function readVolumeZone(kube: DayTwoKube, id: CasId): Promise<string | undefined> {
  const claim = await kube.tryGet<V1PersistentVolumeClaim & { metadata: { name: string } }>({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    namespace: id.namespace,
    name: databaseClaimName(id),
  });
  const volume = claim?.spec?.volumeName;
  if (!volume) return undefined;
  const pv = await kube.tryGet<V1PersistentVolume & { metadata: { name: string } }>({
    apiVersion: "v1",
    kind: "PersistentVolume",
    name: volume,
  });
  return zoneOfVolume(pv);
}

export async function observeCas(kube: DayTwoKube, id: CasId): Promise<CasObservation> {
  const [cas, pod, nodes, volumeZone] = await Promise.all([
    readCas(kube, id),
    readPod(kube, id),
    listNodes(kube),
    readVolumeZone(kube, id),
  ]);
  return { cas, pod, nodes, volumeZone };
}

export const isPodReady = (pod: V1Pod | undefined): boolean =>
  pod !== undefined &&
  pod.metadata?.deletionTimestamp === undefined &&
  (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

export const casContainerImage = (pod: V1Pod | undefined): string | undefined =>
  pod?.spec?.containers.find((c) => c.name === "cas")?.image;

/** NAME-0 runs `image` and is Ready: the CAS as now read; otherwise what is seen instead. */
export async function podRunsImage(
  kube: DayTwoKube,
  id: CasId,
  image: string,
  describe: (cas: CAS | undefined) => string,
): Promise<{ ok: true; cas: CAS } | { ok: false; seen: string }> {
  const [pod, cas] = await Promise.all([readPod(kube, id), readCas(kube, id)]);
  if (casContainerImage(pod) !== image || !isPodReady(pod)) {
    return { ok: false, seen: `pod ${podName(id)} does not run ${image} yet; ${describe(cas)}` };
  }
  return cas ? { ok: true, cas } : { ok: false, seen: describe(cas) };
}
