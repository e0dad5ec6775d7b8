// What the operator's informer caches keep of CAS pods (label app.kubernetes.io/name=cas, every namespace): one pod
// per CAS, so at 2,000 CAS a third of each pod's size is megabytes held for nothing (issue 18). The cache is shared
// by every reader of the scope, so the projection keeps each field any of them reads:
// - CAS controller: metadata (name, uid, creationTimestamp, deletionTimestamp, labels → its CAS), spec.nodeName
//   (relocation.ts, status.ts), the containers' names and images (status.ts version, upgrade.ts), the whole status
//   (isPodReady, podTrouble: phase, conditions, containerStatuses; startTime); apiVersion/kind (refOfObject when a
//   pod is deleted off a lost node);
// - the audit-log shipper (src/operator/audit/shipper.ts): metadata.uid, metadata.deletionTimestamp, status.phase.
// Dropped: the rest of spec (volumes, env, mounts, probes, resources, tolerations, affinity), which no reader uses.
// A reader that needs another pod field adds it here (test/unit/operator/cas/cache-projection.test.ts).
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import type { ScopeProjection } from "../../kube/shared-informers.ts";
import type { KubeObject } from "../../kube/types.ts";
import { APP_NAME_LABEL } from "../kit/labels.ts";
import { CAS_APP } from "./names.ts";

const keptContainer = (c: V1Container): V1Container => ({ name: c.name, ...(c.image ? { image: c.image } : {}) });

/** The CAS pod as the caches keep it (pure). */
export function projectCasPod(obj: KubeObject): KubeObject {
  const pod = obj as V1Pod;
  const spec = pod.spec;
  return {
    ...(pod.apiVersion ? { apiVersion: pod.apiVersion } : {}),
    ...(pod.kind ? { kind: pod.kind } : {}),
    metadata: pod.metadata ?? {},
    ...(spec
      ? {
          spec: {
            ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
            containers: (spec.containers ?? []).map(keptContainer),
          },
        }
      : {}),
    ...(pod.status ? { status: pod.status } : {}),
  } as KubeObject;
}

/** The operator's per-scope projections: CAS pods as above; every other scope keeps whole objects. */
export const operatorCacheProjection: ScopeProjection = (scope) =>
  scope.type.apiVersion === "v1" &&
  scope.type.kind === "Pod" &&
  scope.labelSelector === `${APP_NAME_LABEL}=${CAS_APP}` &&
  scope.namespace === undefined &&
  scope.fieldSelector === undefined
    ? projectCasPod
    : undefined;
