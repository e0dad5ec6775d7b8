// The alerting rules shipped with the install and the Helm chart (a PrometheusRule, or a plain rule file for a
// Prometheus without the operator), built from the metric names of catalog.ts. One alert per upstream `*_alert`
// gauge, plus what an on-call person needs: a CAS that stays unhealthy, overdue snapshots and backups, a webhook
// certificate close to expiry, failing reconciles and audit shipping lag. Every alert names the fix in its
// description and links its section of docs/runbooks.md. Pure: options in, objects out; serialised once by the caller.

import {
  AUDIT_SHIPPING_METRICS,
  CAS_GAUGES,
  CONTROLLER_METRICS,
  LAS_GAUGES,
  SGXPLUGIN_GAUGES,
  STACK_GAUGES,
  WEBHOOK_GAUGES,
} from "./catalog.ts";

export type Severity = "critical" | "warning";

export interface AlertSpec {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold (Prometheus duration). */
  readonly for: string;
  readonly severity: Severity;
  readonly summary: string;
  /** What is wrong and the fix (Prometheus template text). */
  readonly description: string;
  /** The anchor of the alert's section in docs/runbooks.md (GitHub's slug of the heading). */
  readonly runbook: string;
}

/** Where the runbook sections live; alerts link `RUNBOOK_DOC#<anchor>`. */
// Relative to the scone sources (or a docs mirror given as runbookBase): no public address is assumed here.
export const RUNBOOK_DOC = "docs/runbooks.md";

const RESOURCE = "{{ $labels.cr_namespace }}/{{ $labels.cr_name }}";
const LAS_OR_PLUGIN = "{{ $labels.cr_name }}";
const DAYS = 86400;
/**
 * The webhook certificate Secret (src/operator/certs/secret.ts WEBHOOK_CERT_SECRET, equal by rules.test): not
 * imported, as that module loads the X.509 library, which only the webhooks may pay for.
 */
export const WEBHOOK_SECRET_NAME = "webhook-server-cert";

const C = CAS_GAUGES;
const L = LAS_GAUGES;
const S = SGXPLUGIN_GAUGES;
const K = STACK_GAUGES;

/** A `*_alert` gauge: non-zero is a problem, -1 means the operator could not work it out (upstream's encoding). */
function gaugeAlert(
  alert: string,
  metric: string,
  what: string,
  fix: string,
  opts: { for?: string; severity?: Severity; resource?: string } = {},
): AlertSpec {
  return {
    alert,
    expr: `${metric} != 0`,
    for: opts.for ?? "10m",
    severity: opts.severity ?? "warning",
    summary: `${what} (${opts.resource ?? RESOURCE})`,
    description: `${metric} is {{ $value }} (-1: the operator could not work it out). ${fix}`,
    runbook: alert.toLowerCase(),
  };
}

export const ALERTS: readonly AlertSpec[] = [
  {
    alert: "SconeCASNotHealthy",
    expr: `${C.state.name} != 1`,
    for: "10m",
    severity: "critical",
    summary: `CAS ${RESOURCE} is not HEALTHY`,
    description: `${C.state.name} is {{ $value }} (0 PENDING, -1 UNHEALTHY) for 10 minutes. Run 'kubectl describe cas -n {{ $labels.cr_namespace }} {{ $labels.cr_name }}': the condition that is not True names the reason (CASReachable NotAnswering: the CAS pod or its network; Provisioned No: 'scone cas provision').`,
    runbook: "sconecasnothealthy",
  },
  gaugeAlert(
    "SconeCASReplicaAlert",
    C.replicaAlert.name,
    "CAS pods are not running",
    "Look at the CAS StatefulSet's pods ('kubectl get pods -n {{ $labels.cr_namespace }} -l app.kubernetes.io/instance={{ $labels.cr_name }}'): scheduling (SGX node, volume zone) or image pull.",
    { for: "5m", severity: "critical" },
  ),
  gaugeAlert(
    "SconeCASPodDisruptionBudgetAlert",
    C.podDisruptionBudgetAlert.name,
    "The CAS pod may be evicted by a node drain",
    "The CAS PodDisruptionBudget the operator keeps is missing or allows an eviction: 'kubectl get pdb -n {{ $labels.cr_namespace }}'; the operator puts a changed one back on its next reconcile (see SconeReconcileErrors if it does not).",
    { for: "30m" },
  ),
  {
    alert: "SconeCASMigrationRatioBelowFull",
    expr: `${C.numMigratableNodes.name} / (${C.numMigratableNodes.name} + ${C.migrationNodeAlert.name}) < 1 and ${C.migrationNodeAlert.name} > 0`,
    for: "15m",
    severity: "warning",
    summary: `CAS ${RESOURCE} cannot migrate to every eligible node`,
    description: `Only {{ $value | humanizePercentage }} of the eligible nodes have a registered backup CAS (${C.migrationNodeAlert.name} counts the others): the migration ratio is below n/n, so an upgrade waits and a lost node may strand the CAS. Check the backup controller's logs and that LAS runs on every SGX node.`,
    runbook: "sconecasmigrationratiobelowfull",
  },
  gaugeAlert(
    "SconeCASMigrationControllerReplicaAlert",
    C.migrationControllerReplicaAlert.name,
    "The CAS backup controller is not running",
    "Look at the backup controller Deployment ('kubectl get deploy -n {{ $labels.cr_namespace }}') and its pod's events; spec.backup-controller must be enabled with a session.",
  ),
  {
    alert: "SconeCASSnapshotFailing",
    expr: `${C.snapshotAlert.name} == 1`,
    for: "5m",
    severity: "critical",
    summary: `Database snapshots of CAS ${RESOURCE} fail`,
    description: `${C.snapshotAlert.name} is 1: the CAS's database snapshots fail, so a lost volume loses recent changes. Check the snapshot volume (database-snapshots PVC: bound, not full) and the CAS log.`,
    runbook: "sconecassnapshotfailing",
  },
  {
    alert: "SconeCASSnapshotOverdue",
    expr: `${C.snapshotConfiguredInterval.name} > 0 and ${C.snapshotTimestamp.name} > 0 and time() - ${C.snapshotTimestamp.name} > 2 * ${C.snapshotConfiguredInterval.name}`,
    for: "5m",
    severity: "warning",
    summary: `No completed snapshot of CAS ${RESOURCE} within twice its interval`,
    description: `The last completed database snapshot is older than 2 × the configured interval (${C.snapshotConfiguredInterval.name}). Check that the CAS answers (SconeCASNotHealthy) and its snapshot volume has room.`,
    runbook: "sconecassnapshotoverdue",
  },
  gaugeAlert(
    "SconeLASReplicaAlert",
    L.lasReplicaAlert.name,
    "Selected nodes run no ready LAS pod",
    "Look at the LAS DaemonSet's pods on those nodes: image pull, the sgx.intel.com/enclave resource, /dev/sgx_enclave permissions.",
    { resource: LAS_OR_PLUGIN },
  ),
  gaugeAlert(
    "SconeLASProbeAlert",
    L.lasProbeAlert.name,
    "The LAS probe fails on some nodes",
    "The LAS pods run but do not answer their probe: read their logs ('kubectl logs -l app.kubernetes.io/name=las'); a permission error on /dev/sgx_enclave needs the SGX device plugin's device permissions.",
    { resource: LAS_OR_PLUGIN },
  ),
  gaugeAlert(
    "SconeSGXPluginReplicaAlert",
    S.sgxReplicaAlert.name,
    "SGX-capable nodes run no available SGX plugin pod",
    "Look at the SGX plugin DaemonSet's pods on those nodes (image pull, node selector, taints).",
    { resource: LAS_OR_PLUGIN },
  ),
  gaugeAlert(
    "SconeSGXPluginDeviceAlert",
    S.sgxDeviceAlert.name,
    "SGX-capable nodes advertise no available SGX device",
    "The node's allocatable sgx.intel.com/enclave is 0 or all used: check the SGX driver (/dev/sgx_enclave) on the node and the plugin's log, or add SGX capacity.",
    { resource: LAS_OR_PLUGIN, severity: "critical" },
  ),
  {
    alert: "SconeStackBackupOverdue",
    expr: `${K.backupInterval.name} > 0 and time() - ${K.lastBackupTimestamp.name} > 2 * ${K.backupInterval.name}`,
    for: "15m",
    severity: "critical",
    summary: `No successful CAS backup of stack ${LAS_OR_PLUGIN} within twice its schedule`,
    description: `The last completed scheduled backup (${K.lastBackupTimestamp.name}) is older than 2 × spec.backup.interval. 'kubectl describe scone {{ $labels.cr_name }}': the BackupScheduled condition names the last failure; check the backup target and 'scone cas backup' by hand.`,
    runbook: "sconestackbackupoverdue",
  },
  {
    alert: "SconeStackWaitingForChange",
    expr: `${K.waiting.name} == 1`,
    for: "1m",
    severity: "critical",
    summary: `Scone stack ${LAS_OR_PLUGIN} stopped after its last allowed failure`,
    description:
      "The stack gave up retrying and waits for a change of the Scone resource. 'kubectl describe scone {{ $labels.cr_name }}' names the failure; fix it, then change the resource (e.g. an annotation) to retry.",
    runbook: "sconestackwaitingforchange",
  },
  {
    alert: "SconeWebhookCertificateExpiringSoon",
    expr: `${WEBHOOK_GAUGES.certificateExpiry.name} - time() < ${14 * DAYS}`,
    for: "1h",
    severity: "critical",
    summary: "The admission webhooks' certificate expires within 14 days",
    description: `It expires in {{ $value | humanizeDuration }}; the operator renews it at 2/3 of its life, so renewal has failed. Read the operator's log for 'webhook certificate check failed'; deleting the Secret ${WEBHOOK_SECRET_NAME} in the operator's namespace makes the operator issue a new one.`,
    runbook: "sconewebhookcertificateexpiringsoon",
  },
  {
    alert: "SconeReconcileErrors",
    expr: `sum by (controller) (increase(${CONTROLLER_METRICS.reconcileErrors.name}[10m])) > 0`,
    for: "15m",
    severity: "warning",
    summary: "Reconciles of the {{ $labels.controller }} controller keep failing",
    description:
      "{{ $value | printf \"%.0f\" }} failed reconciles in the last 10 minutes, for 15 minutes. The operator logs each failure ('reconcile failed' with the resource and the reason); 'scone operator history' lists them too.",
    runbook: "sconereconcileerrors",
  },
  {
    alert: "SconeAuditShippingLag",
    expr: `${AUDIT_SHIPPING_METRICS.lag.name} > 900`,
    for: "10m",
    severity: "warning",
    summary: "Audit-log shipping of CAS {{ $labels.cr_namespace }}/{{ $labels.cr_name }} lags behind",
    description:
      "The oldest unshipped audit-log entry is {{ $value | humanizeDuration }} old. Check the audit destination is reachable and accepts the writes (the shipper's log names the error).",
    runbook: "sconeauditshippinglag",
  },
];

export interface RuleOptions {
  /** Replaces every alert's `for:` (tests run the same rules with seconds instead of minutes). */
  readonly forOverride?: string;
  /** Base of runbook_url (a mirror of the docs); default RUNBOOK_DOC. */
  readonly runbookBase?: string;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly labels: { readonly severity: Severity };
    readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
  }[];
}

/** The rule groups, as a Prometheus rule file's `groups:` and a PrometheusRule's `spec.groups` hold them. */
export function alertRuleGroups(opts: RuleOptions = {}): RuleGroup[] {
  const base = opts.runbookBase ?? RUNBOOK_DOC;
  return [
    {
      name: "scone.alerts",
      rules: ALERTS.map((a) => ({
        alert: a.alert,
        expr: a.expr,
        for: opts.forOverride ?? a.for,
        labels: { severity: a.severity },
        annotations: { summary: a.summary, description: a.description, runbook_url: `${base}#${a.runbook}` },
      })),
    },
  ];
}
