// CAS status from what the cluster shows and what the CAS answered (pure). Upstream fields and rules of §3.2/§8:
// state HEALTHY | PENDING | UNHEALTHY, the phase, alerts where -1 means "could not be calculated", migration and
// snapshot progress, the safety service; plus conditions Ready / Progressing / Degraded and the specific
// CASReachable, Attested, NodeHealthy and UpgradeBlocked. Messages carry names and counts, never times, so a steady
// state derives an identical status (and writes nothing).
import type {
  V1Deployment,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1StatefulSet,
} from "@kubernetes/client-node";
import type { CAS, CASPhase, CASStatus } from "../../resources/cas.ts";
import { CAS_CONDITION, CAS_REASON as R } from "../../resources/cas-conditions.ts";
import type { ServiceState } from "../../resources/common-fields.ts";
import { type Condition, type ConditionInput, setConditions } from "../../runtime/conditions.ts";
import { newestMs, PROGRESS_DEADLINE_MS } from "../kit/health.ts";
import { isPodReady } from "../node-agent/node-facts.ts";
import {
  deploymentHealth,
  isRollingOut,
  leastHealthy,
  type Migration,
  migrationOf,
  pdbHealth,
  type SnapshotStatus,
  snapshotStatusOf,
} from "./facts.ts";
import { CAS_CONTAINER, FORCE_UPGRADE_ANNOTATION } from "./names.ts";
import { describeRejections, imageVersion, type RejectedNode } from "./nodes.ts";
import type { CasProbeResult, Provisioned } from "./probe.ts";
import {
  disruptionBudgetProblems,
  failingProblems,
  migrationProblems,
  type ProbeFacts,
  type Problem,
  podDisruptionBudgetAlertOf,
  podProblems,
  probeProblems,
  type SafetyServiceFacts,
  safetyServiceProblems,
  snapshotProblems,
  specProblems,
} from "./problems.ts";
import type { Relocation } from "./relocation.ts";
import { type CasSettings, casSettings, type RenderOptions } from "./settings.ts";
import type { UpgradePlan } from "./upgrade.ts";

/** What the operator observed of one CAS. */
export interface CasObserved {
  readonly statefulSet: V1StatefulSet | undefined;
  readonly pod: V1Pod | undefined;
  readonly pvcs: readonly V1PersistentVolumeClaim[];
  readonly backupController: V1Deployment | undefined;
  readonly safetyService: V1Deployment | undefined;
  readonly podDisruptionBudget: V1PodDisruptionBudget | undefined;
  readonly safetyServicePodDisruptionBudget: V1PodDisruptionBudget | undefined;
  readonly nodes: readonly V1Node[];
  /** The controller's decisions this round (absent in a plain status computation). */
  readonly upgrade?: UpgradePlan;
  readonly relocation?: Relocation;
  /** A spec change the API server cannot apply to the running objects (immutable.ts). */
  readonly refusedChange?: string;
  /** What is wrong with the spec ("field: message"), when the admission webhook did not refuse it. */
  readonly specIssues?: readonly string[];
  /** What the admission policy refuses in the spec (nothing was applied from it), field by field. */
  readonly notAllowed?: readonly string[];
  /** Backoff before deleting a stuck pod, as a duration ("60s"). */
  readonly podDeletionBackoff?: string;
  /** The AuditShipped condition from the operator's audit-log shipper (src/operator/audit), when it ships. */
  readonly auditShipped?: ConditionInput;
}

function conditionFor(
  type: string,
  ok: boolean | undefined,
  reasons: { ok: string; bad: string; unknown: string },
  messages: { ok: string; bad: string; unknown: string },
): ConditionInput {
  if (ok === undefined) return { type, status: "Unknown", reason: reasons.unknown, message: messages.unknown };
  return ok
    ? { type, status: "True", reason: reasons.ok, message: messages.ok }
    : { type, status: "False", reason: reasons.bad, message: messages.bad };
}

/** The NodeHealthy message of a placed CAS, for humans (flows read status.observedPodUID instead). */
const runsOnNodeMessage = (node: string): string => `CAS runs on node ${node}`;

function relocationCondition(r: Relocation | undefined, pod: V1Pod | undefined): ConditionInput {
  const rejected = (list: readonly RejectedNode[]) => (list.length ? ` Rejected: ${describeRejections(list)}.` : "");
  const type = CAS_CONDITION.NodeHealthy;
  if (!r || r.kind === "placed")
    return {
      type,
      status: "True",
      reason: R.NodeReady,
      message: pod?.spec?.nodeName ? runsOnNodeMessage(pod.spec.nodeName) : "CAS is not placed on a node yet",
    };
  if (r.kind === "stuck")
    return {
      type,
      status: "False",
      reason: R.NoEligibleNode,
      message: `${r.why}; no node can take CAS over (a node must be registered for backup, in the zone of the database volume, labelled las.scontain.com/capable=true, las.scontain.com/ok=true, sgx.intel.com/capable=true, schedulable and Ready).${rejected(r.eligibility.rejected)}`,
    };
  return {
    type,
    status: "False",
    reason: R.Relocating,
    message: `${r.why}; moving CAS to one of ${r.eligibility.eligible.join(", ")}.${rejected(r.eligibility.rejected)}`,
  };
}

/** What CAS answered this round, and what the status keeps of earlier rounds when it did not. */
function probeFacts(probe: CasProbeResult | undefined, podReady: boolean, previous: CASStatus | undefined) {
  // An unreachable CAS keeps the last known provisioning and version.
  const reachable = podReady ? probe?.reachable === true : undefined;
  const answered = reachable === true && probe !== undefined ? probe : undefined;
  const provisioned: Provisioned =
    answered?.provisioned && answered.provisioned !== "Unknown"
      ? answered.provisioned
      : ((previous?.provisioned as Provisioned | undefined) ?? "Unknown");
  const facts: ProbeFacts = {
    asked: podReady && probe !== undefined,
    reachable,
    error: probe?.error,
    attested: answered ? answered.attestable === true : undefined,
    attestationReason: probe?.attestationReason,
    provisioned,
  };
  return { facts, answered };
}

function safetyServiceFacts(s: CasSettings, observed: CasObserved): SafetyServiceFacts {
  if (!s.safetyService.enabled) return { status: "Disabled", deployment: "Disabled", pdb: "Disabled" };
  const deployment = deploymentHealth(
    observed.safetyService,
    s.safetyService.desiredReplicas,
    s.safetyService.minReplicas,
  );
  const pdb = pdbHealth(observed.safetyServicePodDisruptionBudget);
  return { status: leastHealthy(deployment, pdb), deployment, pdb };
}

/** The snapshot times CAS reported (or the status kept) and the resulting snapshot state. */
function snapshotFacts(
  s: CasSettings,
  answered: CasProbeResult | undefined,
  previous: CASStatus | undefined,
  now: Date,
) {
  const timestamp = answered?.snapshotTimestamp ?? previous?.snapshotTimestamp;
  // A check-up time only as CAS's answer gives it (none when not observable); the last known one while CAS is silent.
  const checkupTimestamp = answered ? answered.snapshotCheckupTimestamp : previous?.snapshotCheckupTimestamp;
  return { timestamp, checkupTimestamp, status: snapshotStatusOf(s, checkupTimestamp, now, timestamp).status };
}

/** The phase of §3.2, from the most specific failure down to HEALTHY. */
function casPhase(
  p: { provisioned: Provisioned; answered: boolean; attested: boolean | undefined; snapshots: SnapshotStatus },
  state: ServiceState,
  migrating: boolean,
): CASPhase {
  if (p.provisioned !== "Yes") return p.provisioned === "No" && p.answered ? "Unprovisioned" : "Uninitialized";
  if (p.attested !== true) return "AttestationFailure";
  if (p.snapshots === "Failed") return "SnapshotFailure";
  if (state === "UNHEALTHY") return "UNHEALTHY";
  if (migrating) return "EnablingMigration";
  return state === "PENDING" ? "Provisioned" : "HEALTHY";
}

/** Ready, Progressing and Degraded from the problems found and the rollout. */
function summaryConditions(
  state: ServiceState,
  problems: readonly Problem[],
  failing: readonly Problem[],
  rollingOut: boolean,
  upgrade: UpgradePlan | undefined,
): ConditionInput[] {
  const first = failing[0] ?? problems[0];
  const { Ready, Progressing, Degraded } = CAS_CONDITION;
  return [
    state === "HEALTHY"
      ? { type: Ready, status: "True", reason: R.Healthy, message: "CAS is provisioned, attestable and answering" }
      : {
          type: Ready,
          status: "False",
          reason: first?.reason ?? R.RollingOut,
          message: first?.message ?? "the CAS StatefulSet is rolling out",
        },
    rollingOut
      ? { type: Progressing, status: "True", reason: R.RollingOut, message: "the CAS StatefulSet is rolling out" }
      : upgrade?.blocked
        ? { type: Progressing, status: "False", reason: upgrade.blocked.reason, message: upgrade.blocked.message }
        : {
            type: Progressing,
            status: "False",
            reason: R.RolloutComplete,
            message: "CAS runs the current pod template",
          },
    failing.length > 0
      ? {
          type: Degraded,
          status: "True",
          reason: failing[0]?.reason ?? R.Unhealthy,
          message: failing.map((p) => p.message).join("; "),
        }
      : { type: Degraded, status: "False", reason: R.AsExpected, message: "no problem detected" },
  ];
}

/** What the Attested condition says of spec.nonce: the report, or why there is none. */
function attestedMessage(nonce: string | undefined, dcapReport: string | undefined): string {
  if (dcapReport) return "CAS was attested; status.dcapReport answers spec.nonce";
  // CLI §4/§8: /v1/attest gives an offline report, but how to ask it for a nonce is unpublished (SCONE-INTERFACE §14).
  return nonce
    ? "CAS was attested by scone cas attest; no DCAP report for spec.nonce can be known: no documented interface returns one"
    : "CAS was attested by scone cas attest";
}

/** CASReachable and Attested: what CAS answered. */
function probeConditions(p: ProbeFacts, attested: string): ConditionInput[] {
  return [
    conditionFor(
      CAS_CONDITION.CASReachable,
      p.reachable,
      { ok: R.Answering, bad: R.NotAnswering, unknown: R.PodNotReady },
      {
        ok: "CAS answers on its client port",
        bad: `CAS does not answer: ${p.error ?? "no answer"}`,
        unknown: "the CAS pod is not ready, so CAS was not asked",
      },
    ),
    conditionFor(
      CAS_CONDITION.Attested,
      p.attested,
      { ok: R.Attested, bad: R.AttestationFailed, unknown: R.NotAsked },
      {
        ok: attested,
        bad: `CAS cannot be attested: ${p.attestationReason ?? "no reason given"}`,
        unknown: "CAS could not be asked for an attestation report",
      },
    ),
  ];
}

function specAppliedCondition(observed: CasObserved): ConditionInput {
  const type = CAS_CONDITION.SpecApplied;
  if (observed.notAllowed?.length)
    return { type, status: "False", reason: R.NotAllowed, message: observed.notAllowed.join("; ") };
  if (observed.specIssues?.length)
    return { type, status: "False", reason: R.InvalidSpec, message: observed.specIssues.join("; ") };
  if (observed.refusedChange)
    return { type, status: "False", reason: R.ImmutableField, message: observed.refusedChange };
  return { type, status: "True", reason: R.Applied, message: "no spec change was refused by the API server" };
}

function upgradeBlockedCondition(upgrade: UpgradePlan | undefined): ConditionInput {
  const type = CAS_CONDITION.UpgradeBlocked;
  if (upgrade?.blocked)
    return { type, status: "True", reason: upgrade.blocked.reason, message: upgrade.blocked.message };
  if (upgrade?.forced)
    return {
      type,
      status: "False",
      reason: R.UpgradeForced,
      message: `${FORCE_UPGRADE_ANNOTATION}=true: upgrading without the safety checks (${upgrade.forced})`,
    };
  return upgrade && upgrade.step !== "none"
    ? { type, status: "False", reason: R.Upgrading, message: `upgrade in progress: ${upgrade.step}` }
    : { type, status: "False", reason: R.NoUpgradePending, message: "CAS runs the image of spec.image" };
}

/** Created, or its StatefulSet or pod (re)created, within the progress deadline: pod problems are PENDING. */
function isSettling(cas: CAS, observed: CasObserved, now: Date): boolean {
  const { statefulSet: sts, pod } = observed;
  const since = newestMs([
    cas.metadata.creationTimestamp,
    sts?.metadata?.creationTimestamp,
    pod?.metadata?.creationTimestamp,
    pod?.status?.startTime,
  ]);
  return now.getTime() - since < PROGRESS_DEADLINE_MS;
}

/** version, and the DCAP report with the nonce it answers. */
function versionFields(
  s: CasSettings,
  answered: CasProbeResult | undefined,
  previous: CASStatus | undefined,
  pod: V1Pod | undefined,
): Pick<CASStatus, "version" | "nonce" | "dcapReport"> {
  // The report stays as long as it answers the current nonce (a new report per probe would write status each time).
  const nonce = s.spec.nonce;
  const keepReport = previous?.dcapReport && previous.nonce === nonce;
  const dcapReport = keepReport ? previous.dcapReport : answered ? answered.dcapReport : previous?.dcapReport;
  // CAS's own word if a probe has it; otherwise the tag of the image the pod runs (§3.1: the tag is the SCONE
  // version), so an upgraded CAS shows its new version; the last known one while there is no pod.
  const version = answered?.version ?? containerImageTag(pod) ?? previous?.version ?? "unknown";
  return { version, ...(nonce && dcapReport ? { nonce, dcapReport } : {}) };
}

const migrationFields = (
  m: Migration,
): Pick<
  CASStatus,
  | "numMigratableNodes"
  | "desiredNumMigratableNodes"
  | "migrationNodeRatio"
  | "migrationNodeAlert"
  | "migrationControllerReplicaAlert"
> => ({
  numMigratableNodes: m.num,
  desiredNumMigratableNodes: m.desired,
  migrationNodeRatio: m.ratio,
  migrationNodeAlert: m.nodeAlert,
  migrationControllerReplicaAlert: m.controllerAlert,
});

/** The snapshot fields of the status (§3.2). */
function snapshotFields(s: CasSettings, snapshots: ReturnType<typeof snapshotFacts>): Partial<CASStatus> {
  return {
    snapshotStatus: snapshots.status,
    ...(snapshots.timestamp ? { snapshotTimestamp: snapshots.timestamp } : {}),
    ...(snapshots.checkupTimestamp ? { snapshotCheckupTimestamp: snapshots.checkupTimestamp } : {}),
    ...(s.snapshots.enabled && Number.isFinite(s.snapshots.intervalSeconds)
      ? { snapshotConfiguredInterval: Math.round(s.snapshots.intervalSeconds) }
      : {}),
  };
}

/** The safety service fields of the status (§3.2). */
function safetyServiceFields(s: CasSettings, observed: CasObserved, ss: SafetyServiceFacts): Partial<CASStatus> {
  return {
    safetyServiceActiveStatus:
      s.safetyService.enabled &&
      (observed.safetyService?.status?.availableReplicas ?? 0) >= s.safetyService.minReplicas,
    safetyServiceStatus: ss.status,
    safetyServiceDeploymentStatus: ss.deployment,
    safetyServicePDBStatus: ss.pdb,
  };
}

/**
 * `probe` undefined: CAS was not asked this round (its pod is not ready). `opts` gives the defaults (image version)
 * the spec is read with.
 */
export function deriveCasStatus(
  cas: CAS,
  observed: CasObserved,
  probe: CasProbeResult | undefined,
  now: Date,
  opts: RenderOptions,
): CASStatus {
  const s = casSettings(cas, opts);
  const previous = cas.status;
  const generation = cas.metadata.generation;
  const { statefulSet: sts, pod, relocation } = observed;
  // A pod on a lost node keeps showing its last status (Ready): it does not count as running.
  const nodeLost = relocation !== undefined && relocation.kind !== "placed";
  const podReady = pod !== undefined && isPodReady(pod) && !nodeLost;
  const { facts, answered } = probeFacts(probe, podReady, previous);
  const migration = migrationOf(cas, s, observed.nodes, observed.backupController);
  const snapshots = snapshotFacts(s, answered, previous, now);
  const ss = safetyServiceFacts(s, observed);
  const problems = [
    ...podProblems({ statefulSet: sts, pod, podReady, relocation }),
    ...probeProblems(facts),
    ...specProblems(observed.notAllowed, observed.specIssues),
    ...disruptionBudgetProblems(observed.podDisruptionBudget),
    ...migrationProblems(s.backupController.enabled, migration),
    ...snapshotProblems(snapshots.status, snapshots.checkupTimestamp, s.snapshots.interval),
    ...safetyServiceProblems(ss),
  ];
  const failing = failingProblems(problems, isSettling(cas, observed, now));
  const rollingOut = sts ? isRollingOut(sts) : true;
  const state: ServiceState =
    failing.length > 0 ? "UNHEALTHY" : problems.length > 0 || rollingOut ? "PENDING" : "HEALTHY";
  const migrating = s.backupController.enabled && (migration.nodeAlert > 0 || migration.desired === 0);
  const phaseFacts = { ...facts, answered: answered !== undefined, snapshots: snapshots.status };
  const versions = versionFields(s, answered, previous, pod);
  const conditions: ConditionInput[] = [
    ...summaryConditions(state, problems, failing, rollingOut, observed.upgrade),
    ...probeConditions(facts, attestedMessage(s.spec.nonce, versions.dcapReport)),
    relocationCondition(relocation, pod),
    specAppliedCondition(observed),
    upgradeBlockedCondition(observed.upgrade),
    ...(observed.auditShipped ? [observed.auditShipped] : []),
  ];
  return {
    state,
    phase: casPhase(phaseFacts, state, migrating),
    provisioned: facts.provisioned,
    attestable: facts.attested === true ? "Yes" : "Failure",
    ...versions,
    conditions: setConditions(previous?.conditions as Condition[] | undefined, conditions, generation, now),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    ...(pod?.metadata?.uid ? { observedPodUID: pod.metadata.uid } : {}),
    readyReplicas: sts ? (podReady ? 1 : 0) : -1,
    replicaAlert: sts ? 1 - (podReady ? 1 : 0) : -1,
    podDisruptionBudgetAlert: podDisruptionBudgetAlertOf(observed.podDisruptionBudget),
    ...migrationFields(migration),
    ...(observed.podDeletionBackoff ? { mainPodDeletionAttemptBackoffTime: observed.podDeletionBackoff } : {}),
    ...snapshotFields(s, snapshots),
    ...safetyServiceFields(s, observed, ss),
  };
}

/** The tag of the CAS container's image. */
const containerImageTag = (pod: V1Pod | undefined): string | undefined =>
  imageVersion(pod?.spec?.containers.find((c) => c.name === CAS_CONTAINER)?.image);
