// The scone_cas_* gauges with upstream's names and encodings (SCONE-INTERFACE §8; the Grafana dashboards read
// exactly these), labelled cr_name and cr_namespace.
import type { CASStatus } from "../../resources/cas.ts";
import { stateMetricValue } from "../sgxplugin/health.ts";

const g = (name: string, help: string) => ({ name: `scone_cas_${name}`, help });

export const CAS_GAUGES = {
  state: g("state", "State of the CAS: 1 HEALTHY, 0 PENDING, -1 UNHEALTHY."),
  phase: g(
    "phase",
    "Phase of the CAS: 0 UNHEALTHY, 0.125 SnapshotFailure, 0.25 AttestationFailure, 0.375 EnablingMigration, 0.5 Uninitialized, 0.625 Unprovisioned, 0.75 Provisioned, 0.875 HEALTHY, 1 Deleted.",
  ),
  attestable: g("attestable", "Whether the operator could attest the CAS: 1 Yes, 0 No, -1 Failed."),
  provisioned: g("provisioned", "Whether the CAS is provisioned: 1 Yes, 0 No, -1 unknown."),
  replicaAlert: g("replica_alert", "Expected CAS pods that are not running (-1: unknown)."),
  podDisruptionBudgetAlert: g("pod_disruption_budget_alert", "CAS pods the PodDisruptionBudget allows to evict."),
  numMigratableNodes: g("num_migratable_nodes", "Nodes with a registered backup CAS."),
  migrationNodeAlert: g("migration_node_alert", "Nodes without a registered backup CAS (-1: unknown)."),
  migrationControllerReplicaAlert: g(
    "migration_controller_replica_alert",
    "Expected backup controller pods that are not running (-1: unknown).",
  ),
  safetyServiceStatus: g(
    "safety_service_status",
    "Safety service: 3 Healthy, 2 Alert, 1 Unhealthy, 0 Disabled, -1 Unknown.",
  ),
  safetyServiceDeploymentStatus: g(
    "safety_service_deployment_status",
    "Safety service Deployment: 3 Healthy, 2 Alert, 1 Unhealthy, 0 Disabled, -1 Unknown.",
  ),
  safetyServicePdbStatus: g(
    "safety_service_pdb_status",
    "Safety service PodDisruptionBudget: 3 Healthy, 2 Alert, 1 Unhealthy, 0 Disabled, -1 Unknown.",
  ),
  snapshotStatus: g(
    "snapshot_status",
    "Snapshots: 1 Persisted, 0.75 Ephemeral, 0.5 Initializing, 0.25 Disabled, 0 Failed, -1 unknown.",
  ),
  snapshotAlert: g("snapshot_alert", "1 when database snapshots fail, else 0."),
  snapshotTimestamp: g("snapshot_timestamp", "Unix time of the latest database snapshot (0: none yet)."),
  snapshotCheckedTimestamp: g("snapshot_checked_timestamp", "Unix time of the latest snapshot check (0: none yet)."),
  snapshotConfiguredInterval: g("snapshot_configured_interval", "Configured snapshot interval in seconds."),
} as const;

export type CasGaugeKey = keyof typeof CAS_GAUGES;

const PHASE: Record<string, number> = {
  UNHEALTHY: 0,
  SnapshotFailure: 0.125,
  AttestationFailure: 0.25,
  EnablingMigration: 0.375,
  Uninitialized: 0.5,
  Unprovisioned: 0.625,
  Provisioned: 0.75,
  HEALTHY: 0.875,
  Deleted: 1,
};
const SAFETY: Record<string, number> = { Healthy: 3, Alert: 2, Unhealthy: 1, Disabled: 0, Unknown: -1 };
const SNAPSHOT: Record<string, number> = {
  Persisted: 1,
  Ephemeral: 0.75,
  Initializing: 0.5,
  Disabled: 0.25,
  Failed: 0,
};

const unix = (t: string | undefined): number => {
  const ms = t ? Date.parse(t) : Number.NaN;
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
};

export function casMetricValues(s: CASStatus): Record<CasGaugeKey, number> {
  return {
    state: stateMetricValue(s.state),
    phase: PHASE[s.phase] ?? 0,
    attestable: s.attestable === "Yes" ? 1 : -1,
    provisioned: s.provisioned === "Yes" ? 1 : s.provisioned === "No" ? 0 : -1,
    replicaAlert: s.replicaAlert ?? -1,
    podDisruptionBudgetAlert: s.podDisruptionBudgetAlert,
    numMigratableNodes: s.numMigratableNodes,
    migrationNodeAlert: s.migrationNodeAlert ?? -1,
    migrationControllerReplicaAlert: s.migrationControllerReplicaAlert ?? -1,
    safetyServiceStatus: SAFETY[s.safetyServiceStatus ?? "Unknown"] ?? -1,
    safetyServiceDeploymentStatus: SAFETY[s.safetyServiceDeploymentStatus ?? "Unknown"] ?? -1,
    safetyServicePdbStatus: SAFETY[s.safetyServicePDBStatus ?? "Unknown"] ?? -1,
    snapshotStatus: SNAPSHOT[s.snapshotStatus ?? ""] ?? -1,
    snapshotAlert: s.snapshotStatus === "Failed" ? 1 : 0,
    snapshotTimestamp: unix(s.snapshotTimestamp),
    snapshotCheckedTimestamp: unix(s.snapshotCheckupTimestamp),
    snapshotConfiguredInterval: s.snapshotConfiguredInterval ?? 0,
  };
}
