// The CAS controller: keeps the objects of each CAS (desired.ts) in place, asks the CAS itself how it is (CasProbe)
// on every event and on a timer, writes the upstream status and the scone_cas_* gauges, holds back unsafe image
// upgrades (upgrade.ts) and moves CAS off a lost node to a node that can open its database (relocation.ts).
// Deleting a CAS removes its objects by garbage collection but KEEPS its PVCs: they hold the CAS database, i.e. every
// secret; the finalizer says so in an Event. (Upstream documents no deletion of the database either; `kubectl
// provision` refuses to create a CAS while database-NAME-0 exists, so removing it is the user's explicit act.)
// This file only wires caches, the reconciler (reconciler.ts: observe → plan → apply → report) and the watches.
import type { V1Node } from "@kubernetes/client-node";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import type { ConditionInput } from "../../runtime/conditions.ts";
import { Controller, type ReconcileRequest } from "../../runtime/controller.ts";
import { cacheOwned } from "../kit/caches.ts";
import { ResourceGauges } from "../kit/gauges.ts";
import { APP_INSTANCE_LABEL, APP_NAME_LABEL } from "../kit/labels.ts";
import { onRelevantNodeChange } from "../kit/node-watch.ts";
import { MANAGED_SELECTOR, type OperatorContext, watchMapped, watchOwned, watchPrimary } from "../wiring.ts";
import { CAS_GAUGES } from "./metrics.ts";
import { CAS_APP, CAS_TYPE } from "./names.ts";
import { type CasCaches, RelocationMemory } from "./observe.ts";
import type { CasProbe } from "./probe.ts";
import { casReconciler } from "./reconciler.ts";
import { POD_DELETION_BACKOFF_MS } from "./relocation.ts";

const T = (apiVersion: string, kind: string): TypeRef => ({ apiVersion, kind });

export interface CasControllerOptions {
  /** Wait between seeing CAS's node lost and deleting its pod (default 60 s). */
  readonly podDeletionBackoffMs?: number;
  /** Next check of a HEALTHY CAS (default 30 s) and of any other (default 10 s). */
  readonly healthyRecheckMs?: number;
  readonly unhealthyRecheckMs?: number;
  readonly probeTimeoutMs?: number;
  readonly now?: () => Date;
  /** The AuditShipped condition of a CAS, from the audit-log shipper (src/operator/audit/shipper.ts). */
  readonly auditShipped?: (namespace: string, name: string) => ConditionInput | undefined;
}

function casCaches(ctx: OperatorContext): CasCaches {
  const owned = (type: TypeRef) => cacheOwned(ctx, { type, labelSelector: MANAGED_SELECTOR });
  const statefulSets = owned(T("apps/v1", "StatefulSet"));
  const deployments = owned(T("apps/v1", "Deployment"));
  const pdbs = owned(T("policy/v1", "PodDisruptionBudget"));
  const byApp = (kind: string) =>
    ctx.informers.informer<KubeObject>({ type: T("v1", kind), labelSelector: `${APP_NAME_LABEL}=${CAS_APP}` });
  return {
    cas: ctx.informers.informer<KubeObject>({ type: CAS_TYPE }),
    statefulSets,
    deployments,
    pdbs,
    owned: [
      statefulSets,
      deployments,
      pdbs,
      owned(T("v1", "Service")),
      owned(T("v1", "ConfigMap")),
      owned(T("networking.k8s.io/v1", "NetworkPolicy")),
      owned(T("v1", "ServiceAccount")),
      owned(T("rbac.authorization.k8s.io/v1", "RoleBinding")),
    ],
    clusterBindings: owned(T("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")),
    pods: byApp("Pod"),
    pvcs: byApp("PersistentVolumeClaim"),
    nodes: ctx.informers.informer<KubeObject>({ type: T("v1", "Node") }),
  };
}

/** Pods and claims reach their CAS by the instance label. */
const byInstance = (o: KubeObject): ReconcileRequest[] => {
  const instance = o.metadata?.labels?.[APP_INSTANCE_LABEL];
  return instance && o.metadata?.namespace ? [{ namespace: o.metadata.namespace, name: instance }] : [];
};

/** Wires the CAS controller: caches, the reconciler and the watches (a relevant node change looks at every CAS). */
export function setupCasController(
  ctx: OperatorContext,
  probe: CasProbe,
  options: CasControllerOptions = {},
): Controller {
  const caches = casCaches(ctx);
  const memory = new RelocationMemory();
  const controller = new Controller({
    name: "cas",
    reconcile: casReconciler({
      ctx,
      caches,
      memory,
      probe,
      probeTimeoutMs: options.probeTimeoutMs,
      podDeletionBackoffMs: options.podDeletionBackoffMs ?? POD_DELETION_BACKOFF_MS,
      healthyRecheckMs: options.healthyRecheckMs ?? 30_000,
      unhealthyRecheckMs: options.unhealthyRecheckMs ?? 10_000,
      opts: {
        serviceVersion: ctx.serviceVersion,
        operatorNamespace: ctx.operatorNamespace,
        ...(ctx.imageMirror ? { imageMirror: ctx.imageMirror } : {}),
      },
      gauges: new ResourceGauges(ctx.manager.metrics, CAS_GAUGES, {}),
      now: options.now ?? (() => new Date()),
      auditShipped: options.auditShipped,
    }),
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
  });
  caches.nodes.addHandlers({
    add: (o) => memory.rememberZone(o as V1Node),
    update: (_a, b) => memory.rememberZone(b as V1Node),
  });
  watchPrimary(controller, caches.cas);
  for (const inf of caches.owned) watchOwned(controller, inf, CAS_TYPE, true);
  watchMapped(controller, caches.pods, byInstance);
  watchMapped(controller, caches.pvcs, byInstance);
  const everyCas = () => {
    for (const c of caches.cas.list())
      controller.enqueue({ namespace: c.metadata?.namespace ?? "", name: c.metadata?.name ?? "" });
  };
  onRelevantNodeChange(caches.nodes, everyCas);
  ctx.manager.addController(controller);
  return controller;
}

/** The name the operator's controller list and the tests use. */
export const registerCasController = setupCasController;
