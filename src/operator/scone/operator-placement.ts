// spec.operatorNodeSelector → the operator's own Deployment (`scone-controller-manager`, in-cluster installs only).
// Applied server-side under a field manager of its own that owns nothing but the node selector keys, so the
// install flow keeps owning the rest of the Deployment; clearing the field releases (and so removes) those keys.
import type { V1Deployment, V1ManagedFieldsEntry } from "@kubernetes/client-node";
import type { KubeObject } from "../../kube/types.ts";

export const PLACEMENT_FIELD_MANAGER = "scone-stack-placement";

/** The node selector keys `manager` owns in the pod template (from managedFields; empty when none). */
export function ownedSelectorKeys(deployment: V1Deployment, manager = PLACEMENT_FIELD_MANAGER): string[] {
  const keys = new Set<string>();
  for (const entry of deployment.metadata?.managedFields ?? ([] as V1ManagedFieldsEntry[])) {
    if (entry.manager !== manager || entry.operation !== "Apply") continue;
    const fields = entry.fieldsV1 as
      | Record<string, Record<string, Record<string, Record<string, unknown>>>>
      | undefined;
    const selector = fields?.["f:spec"]?.["f:template"]?.["f:spec"]?.["f:nodeSelector"];
    if (selector && typeof selector === "object")
      for (const k of Object.keys(selector)) if (k.startsWith("f:")) keys.add(k.slice(2));
  }
  return [...keys].sort();
}

/**
 * The apply body that brings the Deployment's node selector to `wanted`, or undefined when it is there already
 * (a steady state writes nothing). `wanted` undefined/empty releases what we set before.
 */
export function placementApply(
  deployment: V1Deployment,
  wanted: Readonly<Record<string, string>> | undefined,
): KubeObject | undefined {
  const want = wanted ?? {};
  const current = deployment.spec?.template?.spec?.nodeSelector ?? {};
  const owned = ownedSelectorKeys(deployment);
  const present = Object.entries(want).every(([k, v]) => current[k] === v);
  const stale = owned.filter((k) => !(k in want));
  if (present && stale.length === 0 && owned.length === Object.keys(want).length) return undefined;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: deployment.metadata?.name ?? "", namespace: deployment.metadata?.namespace ?? "" },
    spec: { template: { spec: Object.keys(want).length > 0 ? { nodeSelector: { ...want } } : {} } },
  } as KubeObject;
}
