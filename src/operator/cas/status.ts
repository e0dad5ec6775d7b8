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
import type { ServiceState } from "../../resources/common-fields.ts";
import { type Condition, type ConditionInput, setConditions } from "../../runtime/conditions.ts";
import { newestMs, PROGRESS_DEADLINE_MS } from "../sgxplugin/health.ts";
import { isPodReady } from "../sgxplugin/node-facts.ts";
import {
  deploymentHealth,
  isRollingOut,
  leastHealthy,
  migrationOf,
  pdbHealth,
  podTrouble,
  snapshotStatusOf,
} from "./facts.ts";
import { CAS_CONTAINER, FORCE_UPGRADE_ANNOTATION } from "./names.ts";
import { describeRejections, type RejectedNode } from "./nodes.ts";
import type { CasProbeResult, Provisioned } from "./probe.ts";
import type { Relocation } from "./relocation.ts";
import { casSettings, type RenderOptions } from "./settings.ts";
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
}

interface Problem {
  readonly reason: string;
  readonly message: string;
  /** unhealthy at once; otherwise PENDING while settling, UNHEALTHY after the progress deadline. */
  readonly severity: "unhealthy" | "settling" | "waiting";
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

/** The NodeHealthy message of a placed CAS; flows read it to know which pod a status describes. */
export const runsOnNodeMessage = (node: string): string => `CAS runs on node ${node}`;

function relocationCondition(r: Relocation | undefined, pod: V1Pod | undefined): ConditionInput {
  const rejected = (list: readonly RejectedNode[]) => (list.length ? ` Rejected: ${describeRejections(list)}.` : "");
  if (!r || r.kind === "placed")
    return {
      type: "NodeHealthy",
      status: "True",
      reason: "NodeReady",
      message: pod?.spec?.nodeName ? runsOnNodeMessage(pod.spec.nodeName) : "CAS is not placed on a node yet",
    };
  if (r.kind === "stuck")
    return {
      type: "NodeHealthy",
      status: "False",
      reason: "NoEligibleNode",
      message: `${r.why}; no node can take CAS over (a node must be registered for backup, in the zone of the database volume, labelled las.scontain.com/capable=true, las.scontain.com/ok=true, sgx.intel.com/capable=true, schedulable and Ready).${rejected(r.eligibility.rejected)}`,
    };
  return {
    type: "NodeHealthy",
    status: "False",
    reason: "Relocating",
    message: `${r.why}; moving CAS to one of ${r.eligibility.eligible.join(", ")}.${rejected(r.eligibility.rejected)}`,
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
  const { statefulSet: sts, pod } = observed;
  // A pod on a lost node keeps showing its last status (Ready): it does not count as running.
  const nodeLost = observed.relocation !== undefined && observed.relocation.kind !== "placed";
  const podReady = pod !== undefined && isPodReady(pod) && !nodeLost;
  const problems: Problem[] = [];
  const settling =
    now.getTime() -
      newestMs([
        cas.metadata.creationTimestamp,
        sts?.metadata?.creationTimestamp,
        pod?.metadata?.creationTimestamp,
        pod?.status?.startTime,
      ]) <
    PROGRESS_DEADLINE_MS;

  // The CAS pod.
  const readyReplicas = sts ? (podReady ? 1 : 0) : -1;
  const replicaAlert = sts ? 1 - (podReady ? 1 : 0) : -1;
  if (!sts)
    problems.push({ reason: "Installing", message: "the CAS StatefulSet does not exist yet", severity: "settling" });
  else if (!podReady) {
    const r = observed.relocation;
    if (r && r.kind !== "placed")
      problems.push({
        reason: r.kind === "stuck" ? "NoEligibleNode" : "NodeLost",
        message: r.kind === "stuck" ? `${r.why}; no eligible node to move CAS to` : `${r.why}; moving CAS`,
        severity: "unhealthy",
      });
    else problems.push({ reason: "PodNotReady", message: podTrouble(pod), severity: "settling" });
  }

  // What the CAS said. An unreachable CAS keeps the last known provisioning and version.
  const reachable = podReady ? probe?.reachable === true : undefined;
  if (podReady && probe && !probe.reachable)
    problems.push({
      reason: "CASUnreachable",
      message: `CAS does not answer: ${probe.error ?? "no answer"}`,
      severity: "unhealthy",
    });
  const answered = reachable === true && probe !== undefined;
  const provisioned: Provisioned =
    answered && probe.provisioned && probe.provisioned !== "Unknown"
      ? probe.provisioned
      : ((previous?.provisioned as Provisioned | undefined) ?? "Unknown");
  const attested = answered ? probe.attestable === true : undefined;
  if (answered && !probe.attestable)
    problems.push({
      reason: "AttestationFailed",
      message: `CAS cannot be attested: ${probe.attestationReason ?? "no reason given"}`,
      severity: "unhealthy",
    });
  if (provisioned !== "Yes")
    problems.push({
      reason: "NotProvisioned",
      message:
        provisioned === "No"
          ? "CAS is not provisioned yet: run `scone cas provision` (or `kubectl provision cas`)"
          : "whether CAS is provisioned is not known yet",
      severity: "waiting",
    });

  if (observed.notAllowed?.length)
    problems.push({ reason: "NotAllowed", message: observed.notAllowed.join("; "), severity: "unhealthy" });
  if (observed.specIssues?.length)
    problems.push({ reason: "InvalidSpec", message: observed.specIssues.join("; "), severity: "unhealthy" });

  // Disruption budget.
  const disruptions = observed.podDisruptionBudget?.status?.disruptionsAllowed;
  const podDisruptionBudgetAlert = observed.podDisruptionBudget ? Math.min(1, Math.max(0, disruptions ?? 0)) : 1;
  if (podDisruptionBudgetAlert > 0)
    problems.push({
      reason: "EvictionAllowed",
      message: observed.podDisruptionBudget
        ? "the CAS PodDisruptionBudget allows an eviction"
        : "the CAS PodDisruptionBudget does not exist",
      severity: "settling",
    });

  // Migration (backup registrations).
  const migration = migrationOf(cas, s, observed.nodes, observed.backupController);
  if (s.backupController.enabled) {
    if (migration.controllerAlert > 0)
      problems.push({
        reason: "BackupControllerUnavailable",
        message: "the backup controller is not running",
        severity: "settling",
      });
    if (migration.desired === 0)
      problems.push({
        reason: "NoMigrationNodes",
        message:
          "no node is schedulable and labelled las.scontain.com/capable, las.scontain.com/ok and sgx.intel.com/capable",
        severity: "waiting",
      });
    else if (migration.nodeAlert > 0)
      problems.push({
        reason: "EnablingMigration",
        message: `${migration.nodeAlert} of ${migration.desired} nodes have no registered backup CAS yet: ${migration.unregistered.join(", ")}`,
        severity: "waiting",
      });
  }

  // Snapshots.
  const snapshotTimestamp = (answered ? probe.snapshotTimestamp : undefined) ?? previous?.snapshotTimestamp;
  const snapshotCheckupTimestamp =
    (answered ? (probe.snapshotCheckupTimestamp ?? probe.snapshotTimestamp) : undefined) ??
    previous?.snapshotCheckupTimestamp;
  const snapshots = snapshotStatusOf(s, snapshotCheckupTimestamp, now);
  if (snapshots.status === "Failed")
    problems.push({
      reason: "SnapshotFailure",
      // The time of the last check, not the age: the message must not change while nothing else does.
      message: `no database snapshot check since ${snapshotCheckupTimestamp} (interval ${s.snapshots.interval})`,
      severity: "unhealthy",
    });

  // Safety service.
  const ssEnabled = s.safetyService.enabled;
  const ssDeployment = ssEnabled
    ? deploymentHealth(observed.safetyService, s.safetyService.desiredReplicas, s.safetyService.minReplicas)
    : "Disabled";
  const ssPdb = ssEnabled ? pdbHealth(observed.safetyServicePodDisruptionBudget) : "Disabled";
  const ssStatus = leastHealthy(ssDeployment, ssPdb);
  if (ssStatus === "Unhealthy" || ssStatus === "Unknown")
    problems.push({
      reason: "SafetyServiceUnhealthy",
      message: `the safety service is ${ssStatus} (Deployment ${ssDeployment}, PodDisruptionBudget ${ssPdb})`,
      severity: "settling",
    });

  // State.
  const failing = problems.filter((p) => p.severity === "unhealthy" || (p.severity === "settling" && !settling));
  const rollingOut = sts ? isRollingOut(sts) : true;
  const state: ServiceState =
    failing.length > 0 ? "UNHEALTHY" : problems.length > 0 || rollingOut ? "PENDING" : "HEALTHY";

  // Phase (§3.2).
  const attestable = attested === true ? "Yes" : "Failure";
  let phase: CASPhase;
  if (provisioned !== "Yes") phase = provisioned === "No" && answered ? "Unprovisioned" : "Uninitialized";
  else if (attestable === "Failure") phase = "AttestationFailure";
  else if (snapshots.status === "Failed") phase = "SnapshotFailure";
  else if (state === "UNHEALTHY") phase = "UNHEALTHY";
  else if (s.backupController.enabled && (migration.nodeAlert > 0 || migration.desired === 0))
    phase = "EnablingMigration";
  else if (state === "PENDING") phase = "Provisioned";
  else phase = "HEALTHY";

  // Conditions.
  const first = failing[0] ?? problems[0];
  const upgrade = observed.upgrade;
  const conditions: ConditionInput[] = [
    state === "HEALTHY"
      ? { type: "Ready", status: "True", reason: "Healthy", message: "CAS is provisioned, attestable and answering" }
      : {
          type: "Ready",
          status: "False",
          reason: first?.reason ?? "RollingOut",
          message: first?.message ?? "the CAS StatefulSet is rolling out",
        },
    rollingOut
      ? { type: "Progressing", status: "True", reason: "RollingOut", message: "the CAS StatefulSet is rolling out" }
      : upgrade?.blocked
        ? { type: "Progressing", status: "False", reason: upgrade.blocked.reason, message: upgrade.blocked.message }
        : {
            type: "Progressing",
            status: "False",
            reason: "RolloutComplete",
            message: "CAS runs the current pod template",
          },
    failing.length > 0
      ? {
          type: "Degraded",
          status: "True",
          reason: failing[0]?.reason ?? "Unhealthy",
          message: failing.map((p) => p.message).join("; "),
        }
      : { type: "Degraded", status: "False", reason: "AsExpected", message: "no problem detected" },
    conditionFor(
      "CASReachable",
      reachable,
      { ok: "Answering", bad: "NotAnswering", unknown: "PodNotReady" },
      {
        ok: "CAS answers on its client port",
        bad: `CAS does not answer: ${probe?.error ?? "no answer"}`,
        unknown: "the CAS pod is not ready, so CAS was not asked",
      },
    ),
    conditionFor(
      "Attested",
      attested,
      { ok: "Attested", bad: "AttestationFailed", unknown: "NotAsked" },
      {
        ok: "CAS was attested with spec.nonce",
        bad: `CAS cannot be attested: ${probe?.attestationReason ?? "no reason given"}`,
        unknown: "CAS could not be asked for an attestation report",
      },
    ),
    relocationCondition(observed.relocation, pod),
    observed.notAllowed?.length
      ? { type: "SpecApplied", status: "False", reason: "NotAllowed", message: observed.notAllowed.join("; ") }
      : observed.specIssues?.length
        ? { type: "SpecApplied", status: "False", reason: "InvalidSpec", message: observed.specIssues.join("; ") }
        : observed.refusedChange
          ? { type: "SpecApplied", status: "False", reason: "ImmutableField", message: observed.refusedChange }
          : {
              type: "SpecApplied",
              status: "True",
              reason: "Applied",
              message: "no spec change was refused by the API server",
            },
    upgrade?.blocked
      ? { type: "UpgradeBlocked", status: "True", reason: upgrade.blocked.reason, message: upgrade.blocked.message }
      : upgrade?.forced
        ? {
            type: "UpgradeBlocked",
            status: "False",
            reason: "UpgradeForced",
            message: `${FORCE_UPGRADE_ANNOTATION}=true: upgrading without the safety checks (${upgrade.forced})`,
          }
        : {
            type: "UpgradeBlocked",
            status: "False",
            reason: upgrade && upgrade.step !== "none" ? "Upgrading" : "NoUpgradePending",
            message:
              upgrade && upgrade.step !== "none"
                ? `upgrade in progress: ${upgrade.step}`
                : "CAS runs the image of spec.image",
          },
  ];

  // The report stays as long as it answers the current nonce (a new report per probe would write status each time).
  const nonce = s.spec.nonce;
  const keepReport = previous?.dcapReport && previous.nonce === nonce;
  const dcapReport = keepReport ? previous.dcapReport : answered ? probe.dcapReport : previous?.dcapReport;
  const version = (answered ? probe.version : undefined) ?? previous?.version ?? "unknown";
  const imageVersion = containerImageTag(pod);

  const status: CASStatus = {
    state,
    phase,
    provisioned,
    attestable,
    version: version === "unknown" && imageVersion ? imageVersion : version,
    ...(nonce && dcapReport ? { nonce, dcapReport } : {}),
    conditions: setConditions(previous?.conditions as Condition[] | undefined, conditions, generation, now),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    readyReplicas,
    replicaAlert,
    podDisruptionBudgetAlert,
    numMigratableNodes: migration.num,
    desiredNumMigratableNodes: migration.desired,
    migrationNodeRatio: migration.ratio,
    migrationNodeAlert: migration.nodeAlert,
    migrationControllerReplicaAlert: migration.controllerAlert,
    ...(observed.podDeletionBackoff ? { mainPodDeletionAttemptBackoffTime: observed.podDeletionBackoff } : {}),
    snapshotStatus: snapshots.status,
    ...(snapshotTimestamp ? { snapshotTimestamp } : {}),
    ...(snapshotCheckupTimestamp ? { snapshotCheckupTimestamp } : {}),
    ...(s.snapshots.enabled && Number.isFinite(s.snapshots.intervalSeconds)
      ? { snapshotConfiguredInterval: Math.round(s.snapshots.intervalSeconds) }
      : {}),
    safetyServiceActiveStatus:
      ssEnabled && (observed.safetyService?.status?.availableReplicas ?? 0) >= s.safetyService.minReplicas,
    safetyServiceStatus: ssStatus,
    safetyServiceDeploymentStatus: ssDeployment,
    safetyServicePDBStatus: ssPdb,
  };
  return status;
}

/** The tag of the CAS container's image, a fallback version before CAS answered. */
function containerImageTag(pod: V1Pod | undefined): string | undefined {
  const image = pod?.spec?.containers.find((c) => c.name === CAS_CONTAINER)?.image;
  if (!image || image.includes("@")) return undefined;
  const last = image.slice(image.lastIndexOf("/") + 1);
  return last.includes(":") ? last.slice(last.indexOf(":") + 1) : undefined;
}
