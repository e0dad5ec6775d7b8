// The CAS reconciler's decisions (pure): whether to ask CAS, what it is provisioned as, the upgrade step, the
// objects to render (immutable claims kept), the objects the status reads, the cluster-scoped bindings to remove,
// the Events of a lost node and of a deletion, and when to look again. reconciler.ts observes, asks these
// functions, applies (apply.ts) and reports.
import type {
  V1ClusterRoleBinding,
  V1Deployment,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1StatefulSet,
} from "@kubernetes/client-node";
import type { KubeObject } from "../../kube/types.ts";
import type { CAS, CASStatus } from "../../resources/cas.ts";
import { validate } from "../../resources/validation.ts";
import type { ConditionInput } from "../../runtime/conditions.ts";
import type { ReconcileResult } from "../../runtime/controller.ts";
import { APP_INSTANCE_LABEL } from "../kit/labels.ts";
import { isPodReady } from "../node-agent/node-facts.ts";
import { type DesiredCasObjects, renderCasObjects } from "./desired.ts";
import { migrationOf } from "./facts.ts";
import { keepImmutableClaims } from "./immutable.ts";
import { names } from "./names.ts";
import { imageVersion, isRegisteredFor, migrationCandidates } from "./nodes.ts";
import type { CasProbeResult, Provisioned } from "./probe.ts";
import { placementFor, type Relocation } from "./relocation.ts";
import type { CasSettings, RenderOptions } from "./settings.ts";
import type { CasObserved } from "./status.ts";
import { planUpgrade, type UpgradePlan } from "./upgrade.ts";

/** Spec problems the admission webhook refuses; without webhooks (or for older objects) the status names them. */
export const specIssues = (cas: CAS): string[] =>
  validate("CAS", { apiVersion: cas.apiVersion, kind: cas.kind, spec: cas.spec })
    .filter((i) => i.field.startsWith("spec"))
    .map((i) => `${i.field}: ${i.message}`);

export const formatDuration = (ms: number): string => `${Math.round(ms / 1000)}s`;

/** Ask CAS only when its pod runs on a live node (a lost node's pod still shows its last, Ready, status). */
export const shouldProbe = (pod: V1Pod | undefined, relocation: Relocation): pod is V1Pod =>
  pod !== undefined && isPodReady(pod) && relocation.kind === "placed";

/** What CAS says it is provisioned as when it answered this round; else what the status kept. */
export function provisionedOf(
  probe: CasProbeResult | undefined,
  previous: CASStatus | undefined,
): Provisioned | undefined {
  return probe?.reachable && probe.provisioned && probe.provisioned !== "Unknown"
    ? probe.provisioned
    : previous?.provisioned;
}

/** The CAS objects as the caches show them before this round's apply (pvcs are read after it). */
export type CasBefore = Omit<CasObserved, "pvcs"> & { readonly pvcs: readonly [] };

/** The upgrade step (upgrade.ts): held back while the database could not follow the new image. */
export function planCasUpgrade(
  cas: CAS,
  s: CasSettings,
  before: CasBefore,
  probe: CasProbeResult | undefined,
): UpgradePlan {
  const migration = migrationOf(cas, s, before.nodes, before.backupController);
  return planUpgrade({
    settings: s,
    provisioned: provisionedOf(probe, cas.status),
    migrationComplete: migration.desired > 0 && migration.num === migration.desired,
    migrationRatio: migration.ratio,
    registrations: migrationCandidates(cas, before.nodes).map((node) =>
      isRegisteredFor(node, cas, imageVersion(s.image)),
    ),
    statefulSet: before.statefulSet,
    pod: before.pod,
    backupController: before.backupController,
    safetyService: before.safetyService,
  });
}

export interface CasRender {
  readonly desired: DesiredCasObjects;
  /** A spec change the API server cannot apply to the running StatefulSet (immutable.ts). */
  readonly refusedChange?: string;
}

/** The objects to apply: the upgrade step and the placement, with the StatefulSet's immutable claims kept. */
export function renderCas(
  cas: CAS,
  opts: RenderOptions,
  upgrade: UpgradePlan,
  relocation: Relocation,
  running: V1StatefulSet | undefined,
): CasRender {
  const placement = placementFor(relocation, running);
  const desired = renderCasObjects(cas, opts, { ...upgrade, ...(placement ? { placement } : {}) });
  const immutable = keepImmutableClaims(desired.owned.find((o) => o.kind === "StatefulSet") as V1StatefulSet, running);
  const owned = desired.owned.map((o) => (o.kind === "StatefulSet" ? immutable.statefulSet : o));
  return { desired: { ...desired, owned }, ...(immutable.refused ? { refusedChange: immutable.refused } : {}) };
}

/** What this round did and decided, for the status. */
export interface CasRound {
  readonly applied: readonly KubeObject[];
  readonly pvcs: readonly V1PersistentVolumeClaim[];
  readonly upgrade: UpgradePlan;
  readonly relocation: Relocation;
  readonly refusedChange?: string | undefined;
  readonly notAllowed: readonly string[];
  readonly podDeletionBackoffMs: number;
  readonly auditShipped?: ConditionInput | undefined;
}

/** The objects the status reads: those just applied where there are, else as observed before the apply. */
export function statusObservation(cas: CAS, s: CasSettings, before: CasBefore, round: CasRound): CasObserved {
  const n = names(cas.metadata.name ?? "");
  const appliedOf = <O extends KubeObject>(kind: string, objName: string): O | undefined =>
    round.applied.find((o) => o.kind === kind && o.metadata?.name === objName) as O | undefined;
  return {
    ...before,
    statefulSet: appliedOf<V1StatefulSet>("StatefulSet", n.statefulSet) ?? before.statefulSet,
    pvcs: round.pvcs,
    backupController: s.backupController.enabled
      ? (appliedOf<V1Deployment>("Deployment", n.backupController) ?? before.backupController)
      : undefined,
    safetyService: s.safetyService.enabled
      ? (appliedOf<V1Deployment>("Deployment", n.safetyService) ?? before.safetyService)
      : undefined,
    podDisruptionBudget:
      appliedOf<V1PodDisruptionBudget>("PodDisruptionBudget", n.podDisruptionBudget) ?? before.podDisruptionBudget,
    upgrade: round.upgrade,
    relocation: round.relocation,
    ...(round.refusedChange ? { refusedChange: round.refusedChange } : {}),
    specIssues: specIssues(cas),
    ...(round.notAllowed.length > 0 ? { notAllowed: round.notAllowed } : {}),
    podDeletionBackoff: formatDuration(round.podDeletionBackoffMs),
    ...(round.auditShipped ? { auditShipped: round.auditShipped } : {}),
  };
}

/** The claims of this CAS (its database among them), by the instance label. */
export const claimsOf = (cas: CAS, pvcs: readonly KubeObject[]): V1PersistentVolumeClaim[] =>
  pvcs.filter((p) => p.metadata?.labels?.[APP_INSTANCE_LABEL] === cas.metadata.name) as V1PersistentVolumeClaim[];

/**
 * The backup controller's ClusterRoleBindings of this CAS that are no longer wanted. Recognised by their subject
 * (namespace and name, exact), not by their name: names of older releases (scone-cas-backup-controller-NS-NAME)
 * were ambiguous, and those bindings are removed here too.
 */
export function unwantedBindings(cas: CAS, bindings: readonly KubeObject[], keep: readonly KubeObject[]): KubeObject[] {
  const wanted = new Set(keep.map((o) => `${o.kind}/${o.metadata?.name}`));
  const serviceAccount = names(cas.metadata.name ?? "").backupController;
  const ofThisCas = (o: KubeObject) =>
    o.metadata?.labels?.[APP_INSTANCE_LABEL] === cas.metadata.name &&
    (o as V1ClusterRoleBinding).subjects?.some(
      (s) => s.kind === "ServiceAccount" && s.namespace === cas.metadata.namespace && s.name === serviceAccount,
    );
  return bindings.filter((o) => ofThisCas(o) && !wanted.has(`${o.kind}/${o.metadata?.name}`));
}

/** The Event of a deletion that keeps the database claims, if any remain. */
export function databaseKeptMessage(cas: CAS, kept: readonly string[]): string | undefined {
  if (kept.length === 0) return undefined;
  return `CAS ${cas.metadata.name} deleted; its PVCs ${kept.join(", ")} are kept because they hold the CAS database. Delete them yourself to destroy it.`;
}

/** The pod to delete off a lost node, once the backoff has passed. */
export const podToEvict = (relocation: Relocation, pod: V1Pod | undefined): V1Pod | undefined =>
  relocation.kind === "moving" && relocation.deletePod ? pod : undefined;

export const nodeLostMessage = (relocation: Relocation & { kind: "moving" }, podName: string): string =>
  `${relocation.why}: deleted pod ${podName}; it restarts on one of ${relocation.eligibility.eligible.join(", ")}`;

export interface RecheckPolicy {
  readonly healthyRecheckMs: number;
  readonly unhealthyRecheckMs: number;
}

/** When to look again: soon after the backoff of a pending move, else by health. */
export function nextCasCheck(relocation: Relocation, state: CASStatus["state"], p: RecheckPolicy): ReconcileResult {
  if (relocation.kind === "moving" && !relocation.deletePod)
    return { requeueAfterMs: Math.max(1_000, Math.min(relocation.waitMs + 100, p.unhealthyRecheckMs)) };
  return { requeueAfterMs: state === "HEALTHY" ? p.healthyRecheckMs : p.unhealthyRecheckMs };
}
