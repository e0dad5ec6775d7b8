// Every metric the operator exports, by name, help and type: the controllers register from these constants and the
// alerting rules and the Grafana dashboard (rules.ts, dashboard.ts) build their queries from the same ones, so a
// renamed metric breaks the build or the catalogue test instead of silently emptying a panel or an alert.
// Names and encodings of the resource gauges are upstream's (SCONE-INTERFACE §8), labelled cr_name and cr_namespace.

export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricSpec {
  readonly name: string;
  readonly help: string;
}

const gaugeOf =
  (prefix: string) =>
  (name: string, help: string): MetricSpec => ({ name: `${prefix}${name}`, help });

const cas = gaugeOf("scone_cas_");
export const CAS_GAUGES = {
  state: cas("state", "State of the CAS: 1 HEALTHY, 0 PENDING, -1 UNHEALTHY."),
  phase: cas(
    "phase",
    "Phase of the CAS: 0 UNHEALTHY, 0.125 SnapshotFailure, 0.25 AttestationFailure, 0.375 EnablingMigration, 0.5 Uninitialized, 0.625 Unprovisioned, 0.75 Provisioned, 0.875 HEALTHY, 1 Deleted.",
  ),
  attestable: cas("attestable", "Whether the operator could attest the CAS: 1 Yes, 0 No, -1 Failed."),
  provisioned: cas("provisioned", "Whether the CAS is provisioned: 1 Yes, 0 No, -1 unknown."),
  replicaAlert: cas("replica_alert", "Expected CAS pods that are not running (-1: unknown)."),
  podDisruptionBudgetAlert: cas(
    "pod_disruption_budget_alert",
    "1 when the CAS pod may be evicted (its PodDisruptionBudget allows it, or none exists), else 0.",
  ),
  numMigratableNodes: cas("num_migratable_nodes", "Nodes with a registered backup CAS."),
  migrationNodeAlert: cas("migration_node_alert", "Nodes without a registered backup CAS (-1: unknown)."),
  migrationControllerReplicaAlert: cas(
    "migration_controller_replica_alert",
    "Expected backup controller pods that are not running (-1: unknown).",
  ),
  safetyServiceStatus: cas(
    "safety_service_status",
    "Safety service: 3 Healthy, 2 Alert, 1 Unhealthy, 0 Disabled, -1 Unknown.",
  ),
  safetyServiceDeploymentStatus: cas(
    "safety_service_deployment_status",
    "Safety service Deployment: 3 Healthy, 2 Alert, 1 Unhealthy, 0 Disabled, -1 Unknown.",
  ),
  safetyServicePdbStatus: cas(
    "safety_service_pdb_status",
    "Safety service PodDisruptionBudget: 3 Healthy, 2 Alert, 1 Unhealthy, 0 Disabled, -1 Unknown.",
  ),
  snapshotStatus: cas(
    "snapshot_status",
    "Snapshots: 1 Persisted, 0.75 Ephemeral, 0.5 Initializing, 0.25 Disabled, 0 Failed, -1 unknown.",
  ),
  snapshotAlert: cas("snapshot_alert", "1 when database snapshots fail, else 0."),
  snapshotTimestamp: cas("snapshot_timestamp", "Unix time of the latest database snapshot (0: none yet)."),
  snapshotCheckedTimestamp: cas("snapshot_checked_timestamp", "Unix time of the latest snapshot check (0: none yet)."),
  snapshotConfiguredInterval: cas("snapshot_configured_interval", "Configured snapshot interval in seconds."),
} as const;

const las = gaugeOf("scone_las_");
export const LAS_GAUGES = {
  state: las("state", "State of the LAS: 1 HEALTHY, 0 PENDING, -1 UNHEALTHY."),
  desiredNumberScheduled: las("desired_number_scheduled", "Nodes selected to run a LAS pod."),
  numberAvailable: las("number_available", "Nodes with an available LAS pod."),
  lasReplicaAlert: las("las_replica_alert", "Selected nodes without a ready LAS pod (-1: unknown)."),
  lasProbeAlert: las("las_probe_alert", "Nodes where the LAS probe fails (-1: unknown)."),
} as const;

const sgx = gaugeOf("scone_sgxplugin_");
export const SGXPLUGIN_GAUGES = {
  state: sgx("state", "State of the SGXPlugin: 1 HEALTHY, 0 PENDING, -1 UNHEALTHY."),
  desiredReplicas: sgx("desired_replicas", "Nodes selected to run the SGX plugin."),
  readyReplicas: sgx("ready_replicas", "Nodes with a ready SGX plugin pod."),
  servingReplicas: sgx("serving_replicas", "Selected SGX-capable nodes."),
  healthyServingReplicas: sgx("healthy_serving_replicas", "Selected SGX-capable nodes with available SGX devices."),
  servingReplicaRatio: sgx("serving_replica_ratio", "healthy_serving_replicas / serving_replicas (-1: unknown)."),
  sgxReplicaAlert: sgx("sgx_replica_alert", "Selected SGX-capable nodes without an available plugin pod."),
  sgxDeviceAlert: sgx("sgx_device_alert", "Selected SGX-capable nodes without an available SGX device."),
  capacitySGXDevices: sgx("capacity_sgx_devices", "SGX devices allocatable by pods."),
  availableSGXDevices: sgx("available_sgx_devices", "SGX devices allocatable and not used."),
  usedSGXDevices: sgx("used_sgx_devices", "SGX devices held by pods."),
} as const;
/** Labelled node as well. */
export const SGXPLUGIN_NODE_GAUGES = {
  capacity: sgx("capacity_sgx_devices_per_node", "SGX devices allocatable by pods, per node."),
  available: sgx("available_sgx_devices_per_node", "SGX devices allocatable and not used, per node."),
  used: sgx("used_sgx_devices_per_node", "SGX devices held by pods, per node."),
} as const;

const stack = gaugeOf("scone_stack_");
export const STACK_GAUGES = {
  state: stack("state", "State of the Scone stack: 1 Running, 0 Empty/Creating/Updating/Repairing, -1 Error."),
  retryCount: stack("retry_count", "Failed attempts in a row of the Scone stack."),
  waiting: stack(
    "waiting_for_change",
    "1 when the stack stopped after its last allowed failure and waits for a change of the resource.",
  ),
  lastBackupTimestamp: stack(
    "last_backup_timestamp_seconds",
    "Unix time of the stack CAS's last completed scheduled database backup (0: none yet).",
  ),
  backupInterval: stack(
    "backup_interval_seconds",
    "Interval of the stack's scheduled CAS database backups in seconds (0: the stack takes no backups).",
  ),
} as const;

/** Per controller (label controller); the reconcile counter also by result (success, requeue, error, terminal). */
export const CONTROLLER_METRICS = {
  reconcileTotal: { name: "scone_controller_reconcile_total", help: "Reconciles per controller and result." },
  reconcileErrors: { name: "scone_controller_reconcile_errors_total", help: "Failed reconciles per controller." },
  reconcileDuration: {
    name: "scone_controller_reconcile_duration_seconds",
    help: "Reconcile duration per controller.",
  },
  queueDepth: { name: "scone_controller_queue_depth", help: "Keys waiting in the work queue." },
} as const;

/** The operator's requests to the Kubernetes API server (labels method, code): API requests per reconcile. */
export const KUBE_CLIENT_METRICS = {
  requests: {
    name: "scone_kube_api_requests_total",
    help: "Requests the operator sent to the Kubernetes API server, by method and response code (watches included).",
  },
} as const;

export const PROCESS_GAUGES = {
  residentMemory: { name: "process_resident_memory_bytes", help: "Resident memory size in bytes." },
  heap: { name: "process_heap_bytes", help: "JavaScript heap in use, in bytes." },
  startTime: { name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds." },
} as const;

export const WEBHOOK_GAUGES = {
  certificateExpiry: {
    name: "scone_webhook_certificate_expiry_timestamp_seconds",
    help: "Unix time the admission webhooks' serving certificate expires (the operator renews it at 2/3 of its life).",
  },
} as const;

/**
 * CAS audit-log shipping (the operator's shipper, src/operator/audit), labelled cr_name and cr_namespace like the
 * scone_cas_* gauges; failures also by reason. Series exist only while a CAS's log is being shipped.
 */
export const AUDIT_SHIPPING_METRICS = {
  entries: { name: "scone_cas_audit_shipped_entries_total", help: "CAS audit-log entries written to the archive." },
  segments: { name: "scone_cas_audit_shipped_segments_total", help: "CAS audit-log segments written to the archive." },
  bytes: {
    name: "scone_cas_audit_shipped_bytes_total",
    help: "Bytes of CAS audit-log segments written to the archive.",
  },
  failures: {
    name: "scone_cas_audit_shipping_failures_total",
    help: "Failed attempts to ship CAS audit-log entries, by reason (ShippingFailed, ChainRejected).",
  },
  lag: {
    name: "scone_cas_audit_shipping_lag_seconds",
    help: "Age in seconds of the oldest CAS audit-log entry read but not yet archived (0: none).",
  },
  lastSeq: {
    name: "scone_cas_audit_last_shipped_seq",
    help: "Sequence number of the last archived entry of the CAS's current audit log.",
  },
  lastShipped: {
    name: "scone_cas_audit_last_shipped_timestamp_seconds",
    help: "Unix time of the last segment written to the archive.",
  },
} as const;
const AUDIT_SHIPPING_COUNTERS: readonly MetricSpec[] = [
  AUDIT_SHIPPING_METRICS.entries,
  AUDIT_SHIPPING_METRICS.segments,
  AUDIT_SHIPPING_METRICS.bytes,
  AUDIT_SHIPPING_METRICS.failures,
];
const AUDIT_SHIPPING_GAUGES: readonly MetricSpec[] = [
  AUDIT_SHIPPING_METRICS.lag,
  AUDIT_SHIPPING_METRICS.lastSeq,
  AUDIT_SHIPPING_METRICS.lastShipped,
];

/** Every metric with its type, the list the rules and the dashboard are checked against. */
export const METRIC_CATALOG: ReadonlyMap<string, MetricType> = new Map<string, MetricType>([
  ...[CAS_GAUGES, LAS_GAUGES, SGXPLUGIN_GAUGES, SGXPLUGIN_NODE_GAUGES, STACK_GAUGES, PROCESS_GAUGES, WEBHOOK_GAUGES]
    .flatMap((group) => Object.values<MetricSpec>(group))
    .map((m): [string, MetricType] => [m.name, "gauge"]),
  ...AUDIT_SHIPPING_COUNTERS.map((m): [string, MetricType] => [m.name, "counter"]),
  ...AUDIT_SHIPPING_GAUGES.map((m): [string, MetricType] => [m.name, "gauge"]),
  [CONTROLLER_METRICS.reconcileTotal.name, "counter"],
  [CONTROLLER_METRICS.reconcileErrors.name, "counter"],
  [CONTROLLER_METRICS.reconcileDuration.name, "histogram"],
  [CONTROLLER_METRICS.queueDepth.name, "gauge"],
  [KUBE_CLIENT_METRICS.requests.name, "counter"],
]);

/** Catalogued metrics whose series appear only while something happens (a CAS's audit log being shipped). */
export const ONLY_WHILE_ACTIVE: ReadonlySet<string> = new Set(
  [...AUDIT_SHIPPING_COUNTERS, ...AUDIT_SHIPPING_GAUGES].map((m) => m.name),
);

/** The series names a metric of the catalogue exposes (a histogram's _bucket, _sum and _count). */
export function seriesNames(name: string, type: MetricType): string[] {
  return type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
}

/** Every series name the operator may expose, mapped to the metric it belongs to. */
export function exportedSeries(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, type] of METRIC_CATALOG) for (const s of seriesNames(name, type)) out.set(s, name);
  return out;
}
