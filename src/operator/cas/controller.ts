// The CAS controller: keeps the objects of each CAS (desired.ts) in place, asks the CAS itself how it is (CasProbe)
// on every event and on a timer, writes the upstream status and the scone_cas_* gauges, holds back unsafe image
// upgrades (upgrade.ts) and moves CAS off a lost node to a node that can open its database (relocation.ts).
// Deleting a CAS removes its objects by garbage collection but KEEPS its PVCs: they hold the CAS database, i.e. every
// secret; the finalizer says so in an Event. (Upstream documents no deletion of the database either; `kubectl
// provision` refuses to create a CAS while database-NAME-0 exists, so removing it is the user's explicit act.)
import type {
  V1ClusterRoleBinding,
  V1Deployment,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1StatefulSet,
} from "@kubernetes/client-node";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import type { CAS } from "../../resources/cas.ts";
import { validate } from "../../resources/validation.ts";
import type { ConditionInput } from "../../runtime/conditions.ts";
import {
  Controller,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
} from "../../runtime/controller.ts";
import { isUpToDate, withAppliedHash } from "../../runtime/drift.ts";
import { refusedAtReconcile } from "../admission/namespace.ts";
import {
  addFinalizer,
  applyOwned,
  FIELD_MANAGER,
  hasFinalizer,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  pruneOwned,
  refOfObject,
  removeFinalizer,
  writeStatus,
} from "../reconcile-kit.ts";
import { cacheOwned, ResourceGauges, waitForCaches } from "../sgxplugin/controller-support.ts";
import { isPodReady } from "../sgxplugin/node-facts.ts";
import { MANAGED_SELECTOR, type OperatorContext, watchMapped, watchOwned, watchPrimary } from "../wiring.ts";
import { renderCasObjects } from "./desired.ts";
import { transitionEvents } from "./events.ts";
import { migrationOf } from "./facts.ts";
import { keepImmutableClaims } from "./immutable.ts";
import { CAS_GAUGES, casMetricValues } from "./metrics.ts";
import { APP_INSTANCE_LABEL, APP_NAME_LABEL, CAS_APP, CAS_FINALIZER, CAS_TYPE, names } from "./names.ts";
import { imageVersion, isNodeReady, isRegisteredFor, migrationCandidates, zoneOf } from "./nodes.ts";
import { type CasProbe, type CasProbeResult, PROBE_TIMEOUT_MS, probeWithTimeout } from "./probe.ts";
import {
  currentPlacement,
  POD_DELETION_BACKOFF_MS,
  placementFor,
  planRelocation,
  type Relocation,
  zoneOfVolume,
} from "./relocation.ts";
import { casSettings, type RenderOptions } from "./settings.ts";
import { type CasObserved, deriveCasStatus } from "./status.ts";
import { planUpgrade } from "./upgrade.ts";

const T = (apiVersion: string, kind: string): TypeRef => ({ apiVersion, kind });
const STATEFULSET = T("apps/v1", "StatefulSet");
const DEPLOYMENT = T("apps/v1", "Deployment");
const SERVICE = T("v1", "Service");
const CONFIGMAP = T("v1", "ConfigMap");
const SERVICE_ACCOUNT = T("v1", "ServiceAccount");
const PDB = T("policy/v1", "PodDisruptionBudget");
const NETWORK_POLICY = T("networking.k8s.io/v1", "NetworkPolicy");
const ROLE_BINDING = T("rbac.authorization.k8s.io/v1", "RoleBinding");
const CLUSTER_ROLE_BINDING = T("rbac.authorization.k8s.io/v1", "ClusterRoleBinding");
const POD = T("v1", "Pod");
const PVC = T("v1", "PersistentVolumeClaim");
const PV = T("v1", "PersistentVolume");
const NODE = T("v1", "Node");

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

/** Spec problems the admission webhook refuses; without webhooks (or for older objects) the status names them. */
const specIssues = (cas: CAS): string[] =>
  validate("CAS", { apiVersion: cas.apiVersion, kind: cas.kind, spec: cas.spec })
    .filter((i) => i.field.startsWith("spec"))
    .map((i) => `${i.field}: ${i.message}`);

const formatDuration = (ms: number): string => `${Math.round(ms / 1000)}s`;

/** Node changes that matter to a CAS: labels (backup registrations among them), schedulability, taints, readiness. */
const nodeFingerprint = (n: V1Node): string =>
  JSON.stringify([n.metadata?.labels ?? {}, n.spec?.unschedulable ?? false, n.spec?.taints ?? [], isNodeReady(n)]);

export function registerCasController(
  ctx: OperatorContext,
  probe: CasProbe,
  options: CasControllerOptions = {},
): Controller {
  const opts: RenderOptions = {
    serviceVersion: ctx.serviceVersion,
    operatorNamespace: ctx.operatorNamespace,
    ...(ctx.imageMirror ? { imageMirror: ctx.imageMirror } : {}),
  };
  const now = options.now ?? (() => new Date());
  const backoffMs = options.podDeletionBackoffMs ?? POD_DELETION_BACKOFF_MS;
  const healthyRecheckMs = options.healthyRecheckMs ?? 30_000;
  const unhealthyRecheckMs = options.unhealthyRecheckMs ?? 10_000;

  const casList = ctx.informers.informer<KubeObject>({ type: CAS_TYPE });
  const owned = (type: TypeRef) => cacheOwned(ctx, { type, labelSelector: MANAGED_SELECTOR });
  const statefulSets = owned(STATEFULSET);
  const deployments = owned(DEPLOYMENT);
  const pdbs = owned(PDB);
  const ownedInformers: Informer<KubeObject>[] = [
    statefulSets,
    deployments,
    pdbs,
    owned(SERVICE),
    owned(CONFIGMAP),
    owned(NETWORK_POLICY),
    owned(SERVICE_ACCOUNT),
    owned(ROLE_BINDING),
  ];
  const clusterInformers = [owned(CLUSTER_ROLE_BINDING)];
  const casPods = ctx.informers.informer<KubeObject>({ type: POD, labelSelector: `${APP_NAME_LABEL}=${CAS_APP}` });
  const casPvcs = ctx.informers.informer<KubeObject>({ type: PVC, labelSelector: `${APP_NAME_LABEL}=${CAS_APP}` });
  const nodes = ctx.informers.informer<KubeObject>({ type: NODE });
  const caches = [casList, ...ownedInformers, ...clusterInformers, casPods, casPvcs, nodes];
  const gauges = new ResourceGauges(ctx.manager.metrics, CAS_GAUGES, {});

  // Memory of the controller (lost on restart, which only restarts a backoff): when each CAS's node was first seen
  // lost, and the last zone of every node (a deleted Node no longer tells its zone).
  const lostSince = new Map<string, number>();
  const lastZone = new Map<string, string>();
  nodes.addHandlers({
    add: (o) => rememberZone(o as V1Node),
    update: (_a, b) => rememberZone(b as V1Node),
  });
  function rememberZone(n: V1Node) {
    const zone = zoneOf(n);
    if (zone && n.metadata?.name) lastZone.set(n.metadata.name, zone);
  }

  const keyOf = (cas: CAS) => `${cas.metadata.namespace}/${cas.metadata.name}`;
  const ownedBy = (list: readonly KubeObject[], cas: CAS) =>
    list.filter((o) => o.metadata?.ownerReferences?.some((r) => r.uid === cas.metadata.uid));

  /** Cluster-scoped objects: applied like owned ones (skipped when up to date) but without an owner reference. */
  async function applyClusterScoped(desired: readonly KubeObject[], rctx: ReconcileContext) {
    for (const d of desired) {
      const want = withAppliedHash({
        ...d,
        metadata: { ...d.metadata, labels: { ...d.metadata?.labels, [MANAGED_BY_LABEL]: MANAGED_BY } },
      });
      if (isUpToDate(want, await ctx.kit.reader.get(refOfObject(want)))) continue;
      await ctx.client.apply(want, { force: true, fieldManager: FIELD_MANAGER, signal: rctx.signal });
      rctx.actions.push(`apply ${want.kind} ${want.metadata?.name}`);
    }
  }

  /**
   * The backup controller's ClusterRoleBindings of this CAS that are no longer wanted. Recognised by their subject
   * (namespace and name, exact), not by their name: names of older releases (scone-cas-backup-controller-NS-NAME)
   * were ambiguous, and those bindings are removed here too.
   */
  async function deleteClusterScoped(cas: CAS, keep: readonly KubeObject[], rctx: ReconcileContext) {
    const wanted = new Set(keep.map((o) => `${o.kind}/${o.metadata?.name}`));
    const serviceAccount = names(cas.metadata.name ?? "").backupController;
    const ofThisCas = (o: KubeObject) =>
      o.metadata?.labels?.[APP_INSTANCE_LABEL] === cas.metadata.name &&
      (o as V1ClusterRoleBinding).subjects?.some(
        (s) => s.kind === "ServiceAccount" && s.namespace === cas.metadata.namespace && s.name === serviceAccount,
      );
    for (const inf of clusterInformers)
      for (const o of inf.list().filter(ofThisCas)) {
        if (wanted.has(`${o.kind}/${o.metadata?.name}`)) continue;
        if (await ctx.client.deleteIfExists(refOfObject(o), { signal: rctx.signal }))
          rctx.actions.push(`delete ${o.kind} ${o.metadata?.name}`);
      }
  }

  async function finalize(cas: CAS, rctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    gauges.remove(cas.metadata.name ?? "", cas.metadata.namespace ?? "");
    lostSince.delete(keyOf(cas));
    if (!hasFinalizer(cas, CAS_FINALIZER)) return undefined;
    await deleteClusterScoped(cas, [], rctx);
    const kept = casPvcs
      .list(cas.metadata.namespace)
      .filter((p) => p.metadata?.labels?.[APP_INSTANCE_LABEL] === cas.metadata.name)
      .map((p) => p.metadata?.name);
    if (kept.length)
      ctx.kit.events.record(
        cas,
        "Normal",
        "DatabaseKept",
        `CAS ${cas.metadata.name} deleted; its PVCs ${kept.join(", ")} are kept because they hold the CAS database. Delete them yourself to destroy it.`,
      );
    await removeFinalizer(ctx.kit, cas, CAS_FINALIZER, rctx);
    return undefined;
  }

  async function volumeZone(cas: CAS, rctx: ReconcileContext): Promise<string | undefined> {
    const pvc = casPvcs.get(cas.metadata.namespace ?? "", names(cas.metadata.name ?? "").databasePvc) as
      | V1PersistentVolumeClaim
      | undefined;
    const volume = pvc?.spec?.volumeName;
    if (!volume) return undefined;
    const pv = await ctx.client.tryGet<V1PersistentVolume>({ ...PV, name: volume }, { signal: rctx.signal });
    return pv ? zoneOfVolume(pv) : undefined;
  }

  /** Whether CAS must leave its node, and where to; the backoff clock starts when the loss is first seen. */
  async function relocationOf(
    cas: CAS,
    pod: V1Pod | undefined,
    sts: V1StatefulSet | undefined,
    nodeList: readonly V1Node[],
    nowMs: number,
    rctx: ReconcileContext,
  ): Promise<Relocation> {
    const key = keyOf(cas);
    const pinned = currentPlacement(sts);
    const input = {
      cas,
      pod,
      nodes: nodeList,
      ...(pinned ? { pinned } : {}),
      volumeZone: undefined,
      lastKnownZone: (node: string) => lastZone.get(node),
      lostSinceMs: lostSince.get(key),
      nowMs,
      backoffMs,
    };
    const first = planRelocation(input);
    if (first.kind === "placed") {
      lostSince.delete(key);
      return first;
    }
    if (!lostSince.has(key)) lostSince.set(key, nowMs);
    // The database volume's zone is read only now (one GET of its PV), when CAS has to move.
    return planRelocation({ ...input, volumeZone: await volumeZone(cas, rctx), lostSinceMs: lostSince.get(key) });
  }

  const reconcile = async (req: ReconcileRequest, rctx: ReconcileContext): Promise<ReconcileResult | undefined> => {
    await waitForCaches(caches, rctx.signal);
    const found = casList.get(req.namespace ?? "", req.name) as CAS | undefined;
    if (!found) {
      gauges.remove(req.name, req.namespace ?? "");
      lostSince.delete(`${req.namespace}/${req.name}`);
      return undefined;
    }
    rctx.observed = { generation: found.metadata.generation, resourceVersion: found.metadata.resourceVersion };
    if (found.metadata.deletionTimestamp) return finalize(found, rctx);
    const cas = (await addFinalizer(ctx.kit, found, CAS_FINALIZER, rctx)) as CAS;
    const ns = cas.metadata.namespace ?? "";
    const name = cas.metadata.name ?? "";
    const n = names(name);
    const s = casSettings(cas, opts);
    const t = now();

    const nodeList = nodes.list() as V1Node[];
    const stsBefore = statefulSets.get(ns, n.statefulSet) as V1StatefulSet | undefined;
    const pod = casPods.get(ns, n.pod) as V1Pod | undefined;
    const relocation = await relocationOf(cas, pod, stsBefore, nodeList, t.getTime(), rctx);

    // Ask CAS only when its pod runs on a live node (a lost node's pod still shows its last, Ready, status).
    const probeResult: CasProbeResult | undefined =
      pod && isPodReady(pod) && relocation.kind === "placed"
        ? await probeWithTimeout(probe, cas, rctx.signal, options.probeTimeoutMs ?? PROBE_TIMEOUT_MS)
        : undefined;

    // Which images run.
    const observedBase = {
      statefulSet: stsBefore,
      pod,
      pvcs: [],
      backupController: deployments.get(ns, n.backupController) as V1Deployment | undefined,
      safetyService: deployments.get(ns, n.safetyService) as V1Deployment | undefined,
      podDisruptionBudget: pdbs.get(ns, n.podDisruptionBudget) as V1PodDisruptionBudget | undefined,
      safetyServicePodDisruptionBudget: pdbs.get(ns, n.safetyService) as V1PodDisruptionBudget | undefined,
      nodes: nodeList,
    } satisfies CasObserved;
    const migration = migrationOf(cas, s, nodeList, observedBase.backupController);
    const provisioned =
      probeResult?.reachable && probeResult.provisioned && probeResult.provisioned !== "Unknown"
        ? probeResult.provisioned
        : cas.status?.provisioned;
    const upgrade = planUpgrade({
      settings: s,
      provisioned,
      migrationComplete: migration.desired > 0 && migration.num === migration.desired,
      migrationRatio: migration.ratio,
      registrations: migrationCandidates(cas, nodeList).map((node) =>
        isRegisteredFor(node, cas, imageVersion(s.image)),
      ),
      statefulSet: stsBefore,
      pod,
      backupController: observedBase.backupController,
      safetyService: observedBase.safetyService,
    });
    const placement = placementFor(relocation, stsBefore);
    const plan = { ...upgrade, ...(placement ? { placement } : {}) };

    // Apply, unless the admission policy refuses the spec (created or changed while the webhook was not
    // called): nothing is rendered from it then; objects from an earlier, allowed spec are left as they are.
    const refused = await refusedAtReconcile(ctx, "CAS", cas, rctx.signal);
    let applied: KubeObject[] = [];
    let refusedChange: string | undefined;
    if (refused.length === 0) {
      const desired = renderCasObjects(cas, opts, plan);
      const immutable = keepImmutableClaims(
        desired.owned.find((o) => o.kind === "StatefulSet") as V1StatefulSet,
        stsBefore,
      );
      desired.owned = desired.owned.map((o) => (o.kind === "StatefulSet" ? immutable.statefulSet : o));
      refusedChange = immutable.refused;
      applied = await applyOwned(ctx.kit, cas, desired.owned, rctx);
      const ownedNow = ownedInformers.flatMap((inf) => ownedBy(inf.list(ns), cas));
      await pruneOwned(ctx.kit, ownedNow, desired.owned, rctx);
      await applyClusterScoped(desired.cluster, rctx);
      await deleteClusterScoped(cas, desired.cluster, rctx);
    }

    // Move off a lost node: the pod cannot finish terminating without its kubelet, so it is removed at once.
    if (refused.length === 0 && relocation.kind === "moving" && relocation.deletePod && pod) {
      await ctx.client.deleteIfExists(refOfObject(pod), {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata?.uid ?? "" },
        signal: rctx.signal,
      });
      rctx.actions.push(`delete pod ${ns}/${n.pod} stuck on ${relocation.node}`);
      ctx.kit.events.record(
        cas,
        "Warning",
        "NodeLost",
        `${relocation.why}: deleted pod ${n.pod}; it restarts on one of ${relocation.eligibility.eligible.join(", ")}`,
      );
    }

    // Status.
    const appliedOf = <O extends KubeObject>(kind: string, objName: string): O | undefined =>
      applied.find((o) => o.kind === kind && o.metadata?.name === objName) as O | undefined;
    const auditShipped = options.auditShipped?.(ns, name);
    const observed: CasObserved = {
      ...observedBase,
      statefulSet: appliedOf<V1StatefulSet>("StatefulSet", n.statefulSet) ?? stsBefore,
      pvcs: casPvcs
        .list(ns)
        .filter((p) => p.metadata?.labels?.[APP_INSTANCE_LABEL] === name) as V1PersistentVolumeClaim[],
      backupController: s.backupController.enabled
        ? (appliedOf<V1Deployment>("Deployment", n.backupController) ?? observedBase.backupController)
        : undefined,
      safetyService: s.safetyService.enabled
        ? (appliedOf<V1Deployment>("Deployment", n.safetyService) ?? observedBase.safetyService)
        : undefined,
      podDisruptionBudget:
        appliedOf<V1PodDisruptionBudget>("PodDisruptionBudget", n.podDisruptionBudget) ??
        observedBase.podDisruptionBudget,
      upgrade,
      relocation,
      ...(refusedChange ? { refusedChange } : {}),
      specIssues: specIssues(cas),
      ...(refused.length > 0 ? { notAllowed: refused } : {}),
      podDeletionBackoff: formatDuration(backoffMs),
      ...(auditShipped ? { auditShipped } : {}),
    };
    const status = deriveCasStatus(cas, observed, probeResult, t, opts);
    await writeStatus(ctx.kit, cas, status, rctx);
    for (const e of transitionEvents(name, cas.status, status)) ctx.kit.events.record(cas, e.type, e.reason, e.message);
    gauges.set(cas, casMetricValues(status));

    if (relocation.kind === "moving" && !relocation.deletePod)
      return { requeueAfterMs: Math.max(1_000, Math.min(relocation.waitMs + 100, unhealthyRecheckMs)) };
    return { requeueAfterMs: status.state === "HEALTHY" ? healthyRecheckMs : unhealthyRecheckMs };
  };

  const controller = new Controller({
    name: "cas",
    reconcile,
    metrics: ctx.manager.metrics,
    onRecord: ctx.recordHistory,
  });
  watchPrimary(controller, casList);
  for (const inf of ownedInformers) watchOwned(controller, inf, CAS_TYPE, true);
  const byInstance = (o: KubeObject): ReconcileRequest[] => {
    const instance = o.metadata?.labels?.[APP_INSTANCE_LABEL];
    return instance && o.metadata?.namespace ? [{ namespace: o.metadata.namespace, name: instance }] : [];
  };
  watchMapped(controller, casPods, byInstance);
  watchMapped(controller, casPvcs, byInstance);
  const everyCas = () => {
    for (const c of casList.list())
      controller.enqueue({ namespace: c.metadata?.namespace ?? "", name: c.metadata?.name ?? "" });
  };
  const fp = (o: KubeObject) => nodeFingerprint(o as V1Node);
  nodes.addHandlers({ add: everyCas, delete: everyCas, update: (a, b) => fp(a) !== fp(b) && everyCas() });
  ctx.manager.addController(controller);
  return controller;
}
