// One promtool unit test per alert of src/metrics/rules.ts: the series that make it fire, a time it must be quiet
// (healthy value, or the condition not yet held for `for:`), and a time it fires with these labels. Annotations are
// expected rendered, so a template mistake (a wrong label name, a bad pipeline) fails the test too.
import { ALERTS, type AlertSpec } from "../../../src/metrics/rules.ts";

export interface AlertCase {
  readonly alert: string;
  readonly series: readonly { readonly series: string; readonly values: string }[];
  /** eval_time (from 0, at 1m steps) at which no alert of this name fires. */
  readonly quietAt: string;
  readonly firesAt: string;
  /** Labels of the firing alert besides alertname and severity (the series' labels). */
  readonly labels: Readonly<Record<string, string>>;
  /** $value at firesAt, for rendering the annotations. */
  readonly value: number;
}

const minutes = (d: string): number => {
  const m = /^(\d+)([smh])$/.exec(d);
  if (!m) throw new Error(`duration ${d}`);
  const n = Number(m[1]);
  return m[2] === "h" ? n * 60 : m[2] === "m" ? n : Math.ceil(n / 60);
};
const spec = (alert: string): AlertSpec => {
  const a = ALERTS.find((x) => x.alert === alert);
  if (!a) throw new Error(`no alert ${alert}`);
  return a;
};

const CAS = { cr_name: "cas", cr_namespace: "tenant" };
const sel = (metric: string, labels: Readonly<Record<string, string>>) =>
  `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`;

/** A `!= 0` gauge alert: 0 at first, 1 from minute 2; fires once the condition held for `for:`. */
function gaugeCase(alert: string, metric: string, labels: Readonly<Record<string, string>>): AlertCase {
  const hold = minutes(spec(alert).for);
  return {
    alert,
    series: [{ series: sel(metric, labels), values: `0 0 1x${hold + 10}` }],
    quietAt: "1m",
    firesAt: `${hold + 3}m`,
    labels,
    value: 1,
  };
}

export const ALERT_CASES: readonly AlertCase[] = [
  {
    alert: "SconeCASNotHealthy",
    series: [{ series: sel("scone_cas_state", CAS), values: "1 1 -1x20" }],
    // Unhealthy from minute 2: still pending at minute 6 (for 10m).
    quietAt: "6m",
    firesAt: "14m",
    labels: CAS,
    value: -1,
  },
  gaugeCase("SconeCASReplicaAlert", "scone_cas_replica_alert", CAS),
  gaugeCase("SconeCASPodDisruptionBudgetAlert", "scone_cas_pod_disruption_budget_alert", CAS),
  {
    alert: "SconeCASMigrationRatioBelowFull",
    series: [
      { series: sel("scone_cas_num_migratable_nodes", CAS), values: "3 3 2x30" },
      { series: sel("scone_cas_migration_node_alert", CAS), values: "0 0 1x30" },
    ],
    quietAt: "1m",
    firesAt: "20m",
    labels: CAS,
    value: 2 / 3,
  },
  gaugeCase("SconeCASMigrationControllerReplicaAlert", "scone_cas_migration_controller_replica_alert", CAS),
  gaugeCase("SconeCASSnapshotFailing", "scone_cas_snapshot_alert", CAS),
  {
    alert: "SconeCASSnapshotOverdue",
    series: [
      { series: sel("scone_cas_snapshot_configured_interval", CAS), values: "60x40" },
      // A snapshot every minute until minute 5, then none: overdue once older than 2 min (minute 7), fires 5m later.
      { series: sel("scone_cas_snapshot_timestamp", CAS), values: "0+60x5 300x40" },
    ],
    quietAt: "5m",
    firesAt: "14m",
    labels: CAS,
    value: 60,
  },
  gaugeCase("SconeLASReplicaAlert", "scone_las_las_replica_alert", { cr_name: "las" }),
  gaugeCase("SconeLASProbeAlert", "scone_las_las_probe_alert", { cr_name: "las" }),
  gaugeCase("SconeSGXPluginReplicaAlert", "scone_sgxplugin_sgx_replica_alert", { cr_name: "sgxplugin" }),
  gaugeCase("SconeSGXPluginDeviceAlert", "scone_sgxplugin_sgx_device_alert", { cr_name: "sgxplugin" }),
  {
    alert: "SconeStackBackupOverdue",
    series: [
      { series: sel("scone_stack_backup_interval_seconds", { cr_name: "scone" }), values: "60x40" },
      { series: sel("scone_stack_last_backup_timestamp_seconds", { cr_name: "scone" }), values: "0+60x5 300x40" },
    ],
    quietAt: "5m",
    firesAt: "25m",
    labels: { cr_name: "scone" },
    value: 60,
  },
  gaugeCase("SconeStackWaitingForChange", "scone_stack_waiting_for_change", { cr_name: "scone" }),
  {
    alert: "SconeWebhookCertificateExpiringSoon",
    // 20 days left, then a certificate with 10 days left from minute 2 (renewal failed); fires after 1h.
    series: [{ series: "scone_webhook_certificate_expiry_timestamp_seconds", values: "1728000 1728000 864000x70" }],
    quietAt: "1m",
    firesAt: "64m",
    labels: {},
    value: 864000 - 64 * 60,
  },
  {
    alert: "SconeReconcileErrors",
    // One failed reconcile a minute from minute 5; fires after 15 minutes of errors.
    series: [{ series: sel("scone_controller_reconcile_errors_total", { controller: "cas" }), values: "0x5 1+1x40" }],
    quietAt: "4m",
    firesAt: "25m",
    labels: { controller: "cas" },
    value: 10,
  },
  {
    alert: "SconeAuditShippingLag",
    // Over the 900 s threshold from minute 2; fires after 10 minutes.
    series: [
      { series: 'scone_cas_audit_shipping_lag_seconds{cr_name="cas",cr_namespace="prod"}', values: "0 0 1000x30" },
    ],
    quietAt: "1m",
    firesAt: "13m",
    labels: { cr_name: "cas", cr_namespace: "prod" },
    value: 1000,
  },
];

/** Go's %v of a float64 for the values these cases use (shortest form, exponent from 1e21, as JS). */
const goFloat = (v: number): string => String(v);
const goPrintf4g = (v: number): string => String(Number(v.toPrecision(4)));

function humanizeDuration(v: number): string {
  const sign = v < 0 ? "-" : "";
  const d = Math.trunc(Math.abs(v));
  const [s, m, h, days] = [d % 60, Math.trunc(d / 60) % 60, Math.trunc(d / 3600) % 24, Math.trunc(d / 86400)];
  if (days) return `${sign}${days}d ${h}h ${m}m ${s}s`;
  if (h) return `${sign}${h}h ${m}m ${s}s`;
  if (m) return `${sign}${m}m ${s}s`;
  return `${sign}${goPrintf4g(Math.abs(v))}s`;
}

/** The annotation text Prometheus renders, for the template forms rules.ts uses (anything else throws). */
export function renderAnnotation(text: string, labels: Readonly<Record<string, string>>, value: number): string {
  return text.replace(/\{\{\s*(.*?)\s*\}\}/g, (_all, inner: string) => {
    const label = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(inner);
    if (label) return labels[label[1] ?? ""] ?? "<no value>";
    if (inner === "$value") return goFloat(value);
    if (inner === "$value | humanizePercentage") return `${goPrintf4g(value * 100)}%`;
    if (inner === "$value | humanizeDuration") return humanizeDuration(value);
    if (inner === '$value | printf "%.0f"') return value.toFixed(0);
    throw new Error(`no renderer for the template {{ ${inner} }}`);
  });
}
