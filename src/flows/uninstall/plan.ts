// The uninstall planner (pure): what `scone operator install` created in a namespace, what the cluster has, and
// the flags → the deletions in the order they must run, what is kept, and whether the run must refuse.
// Order: the webhook configurations first (failurePolicy Fail: with the operator gone every write of a SCONE kind,
// finalizer removals included, would be refused), then install's LAS and SGXPlugin and, with --crds, the CRDs
// while the operator still runs their finalizers, then the operator and its RBAC.
// Never deleted: the namespaces (they hold the CAS volumes), the pull secrets (the kept CAS pods pull with them)
// and PersistentVolumeClaims (CAS databases and snapshots, the operator's backup claim), not even with --crds.
import { installLabels, renderInstallManifests } from "../../install/manifests.ts";
import { upstreamTakeoverSteps } from "../../install/takeover.ts";
import type { KubeObject, ObjectRef } from "../../kube/types.ts";
import { renderCrds } from "../../resources/crds.ts";
import { LAS_REF, SGXPLUGIN_NAME, SGXPLUGIN_TYPE } from "../install/desired.ts";
import { describeRef, refKey, refOfObject } from "../install/plan.ts";

export const UNINSTALL_PHASES = ["webhooks", "node-agents", "crds", "operator"] as const;
export type UninstallPhase = (typeof UNINSTALL_PHASES)[number];

export interface UninstallStep {
  readonly phase: UninstallPhase;
  /** delete: the object exists and is removed; absent: nothing to do (shown with --verbose only). */
  readonly action: "delete" | "absent";
  readonly ref: ObjectRef;
  readonly reason?: string;
}

export interface UninstallPlanInput {
  readonly namespace: string;
  /** Objects looked up (uninstallTargets), by refKey; undefined = not there. */
  readonly observed: ReadonlyMap<string, KubeObject | undefined>;
  /** Every SCONE resource in the cluster (all kinds, all namespaces). */
  readonly resources: readonly KubeObject[];
  readonly crds: boolean;
  readonly force: boolean;
}

export interface UninstallPlan {
  readonly steps: readonly UninstallStep[];
  /** SCONE resources that are not install's own: the run refuses while any exists, unless --force. */
  readonly blockers: readonly ObjectRef[];
  /** The run must not write anything (blockers without --force). */
  readonly refused: boolean;
  /** What stays, in words, for the report. */
  readonly kept: readonly string[];
}

const MANAGED_BY = "app.kubernetes.io/managed-by";

interface Target {
  readonly phase: UninstallPhase;
  readonly ref: ObjectRef;
  /** Only when install made it (managed-by scone); else it is someone else's and stays. */
  readonly onlyIfOurs?: boolean;
  readonly reason?: string;
}

/** The objects an install into `namespace` can have created or adopted, in deletion order within each phase. */
export function uninstallTargets(namespace: string, crds: boolean): Target[] {
  // The same renderer as install, in service mode, with every optional part an install may have added (the API,
  // secure metrics, monitoring), so the names agree whatever flags the install had. Claims hold data (the operator's
  // backups): kept like the CAS claims.
  const everything = { withApi: true, metricsSecure: true, monitoring: true } as const;
  const objects = renderInstallManifests({ namespace, webhook: { mode: "service" }, ...everything }).filter(
    (o) => o.kind !== "Namespace" && o.kind !== "PersistentVolumeClaim",
  );
  const refs = objects.map(refOfObject);
  const isWebhook = (r: ObjectRef) => r.kind.endsWith("WebhookConfiguration");
  // Dependants before what they depend on: the Deployment before its ServiceAccount and RBAC.
  const rank = (r: ObjectRef) =>
    ["Deployment", "Service", "RoleBinding", "ClusterRoleBinding", "Role", "ClusterRole", "ServiceAccount"].indexOf(
      r.kind,
    );
  const operator = refs.filter((r) => !isWebhook(r)).sort((a, b) => rank(a) - rank(b));
  // Adopted from an upstream install (or issued by the operator itself): install's own.
  const upstream = upstreamTakeoverSteps(namespace)
    .filter((t) => t.action.type === "delete" && t.ref.kind !== "Deployment")
    .map((t) => t.ref);
  return [
    ...refs.filter(isWebhook).map((ref): Target => ({ phase: "webhooks", ref })),
    { phase: "node-agents", ref: LAS_REF, onlyIfOurs: true },
    { phase: "node-agents", ref: { ...SGXPLUGIN_TYPE, name: SGXPLUGIN_NAME }, onlyIfOurs: true },
    ...(crds
      ? renderCrds().map(
          (c): Target => ({ phase: "crds", ref: refOfObject(c as unknown as KubeObject), reason: "--crds" }),
        )
      : []),
    ...operator.map((ref): Target => ({ phase: "operator", ref })),
    ...upstream.map((ref): Target => ({ phase: "operator", ref })),
  ];
}

const isOurs = (o: KubeObject | undefined) =>
  o?.metadata?.labels?.[MANAGED_BY] === installLabels("")["app.kubernetes.io/managed-by"];

export function planUninstall(input: UninstallPlanInput): UninstallPlan {
  const targets = uninstallTargets(input.namespace, input.crds);
  const steps: UninstallStep[] = [];
  const ownKeys = new Set<string>();
  for (const t of targets) {
    const found = input.observed.get(refKey(t.ref));
    const ours = !t.onlyIfOurs || isOurs(found);
    if (t.onlyIfOurs && ours && found) ownKeys.add(refKey(t.ref));
    steps.push({
      phase: t.phase,
      action: found && ours ? "delete" : "absent",
      ref: t.ref,
      ...(t.reason ? { reason: t.reason } : {}),
      ...(found && !ours ? { reason: "not made by scone operator install: kept" } : {}),
    });
  }
  const blockers = input.resources.map(refOfObject).filter((r) => !ownKeys.has(refKey(r)));
  const kept = [
    `Namespace ${input.namespace} and its pull secrets (the CAS pods and volumes live there)`,
    "every PersistentVolumeClaim (CAS databases and snapshots, the operator's backups): delete them with kubectl when you mean to",
    ...(input.crds ? [] : ["the CRDs and every SCONE resource (pass --crds to delete them)"]),
  ];
  return { steps, blockers, refused: blockers.length > 0 && !input.force, kept };
}

/** The refusal, naming a few of the resources and the way out. */
export function refusalMessage(plan: UninstallPlan, crds: boolean): string {
  const shown = plan.blockers.slice(0, 5).map(describeRef).join(", ");
  const more = plan.blockers.length > 5 ? ` and ${plan.blockers.length - 5} more` : "";
  const effect = crds
    ? "--force with --crds deletes them all (their PVCs stay)"
    : "--force removes the operator anyway and leaves them unmanaged";
  return `${plan.blockers.length} SCONE resource(s) still exist (${shown}${more}): delete them first, or pass --force (${effect})`;
}

export const isDeletion = (s: UninstallStep): boolean => s.action === "delete";
