// The I/O both node-agent controllers (SGXPlugin, LAS) share beyond the kit: their finalizer, node label
// patches and the slim pods of the device-usage cache.
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "../../kube/client.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { NODE_TYPE } from "../kit/caches.ts";
import { FIELD_MANAGER } from "../reconcile-kit.ts";
import { type NodeLabelPatch, toMergePatch } from "./node-labels.ts";

export const FINALIZER = "base.scone.cloud/finalizer";

export interface NodePatcher {
  readonly client: Pick<KubeClient, "patch">;
}

/** Sends the planned node label patches (merge patches: only the keys that differ). */
export async function patchNodes(
  ctx: NodePatcher,
  patches: readonly NodeLabelPatch[],
  rctx: ReconcileContext,
): Promise<void> {
  for (const p of patches) {
    await ctx.client.patch({ ...NODE_TYPE, name: p.node }, toMergePatch(p), "merge", {
      fieldManager: FIELD_MANAGER,
      signal: rctx.signal,
    });
    const what = Object.entries(p.labels)
      .map(([k, v]) => (v === null ? `-${k}` : `${k}=${v}`))
      .join(",");
    rctx.actions.push(`label node ${p.node} ${what}`);
  }
}

/** A slimmer pod for caches that only count devices and readiness (all pods of a cluster can be many). */
export function slimPod(p: V1Pod): V1Pod {
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: {
      name: p.metadata?.name,
      namespace: p.metadata?.namespace,
      uid: p.metadata?.uid,
      resourceVersion: p.metadata?.resourceVersion,
      labels: p.metadata?.labels,
      creationTimestamp: p.metadata?.creationTimestamp,
      deletionTimestamp: p.metadata?.deletionTimestamp,
    },
    spec: {
      nodeName: p.spec?.nodeName,
      containers: (p.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image, resources: c.resources })),
      initContainers: p.spec?.initContainers?.map((c) => ({ name: c.name, resources: c.resources })),
    },
    status: {
      phase: p.status?.phase,
      conditions: p.status?.conditions,
      containerStatuses: p.status?.containerStatuses?.map((c) => ({
        name: c.name,
        ready: c.ready,
        image: c.image,
        imageID: c.imageID,
        restartCount: c.restartCount,
        state: c.state,
      })),
    },
  };
}
