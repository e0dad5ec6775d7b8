// The scone_cas_* gauges with upstream's names and encodings (SCONE-INTERFACE §8; the Grafana dashboards read
// exactly these), labelled cr_name and cr_namespace. The names live in src/metrics/catalog.ts, shared with the rules.
import { CAS_GAUGES } from "../../metrics/catalog.ts";
import type { CASStatus } from "../../resources/cas.ts";
import { stateMetricValue } from "../kit/health.ts";

export { CAS_GAUGES };

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
