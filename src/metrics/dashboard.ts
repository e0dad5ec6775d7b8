// The Grafana dashboard of the stack (CAS, LAS, SGX plugin, snapshots, backups, the operator's reconciles), built
// from the metric names of catalog.ts and serialised once into docs/monitoring/scone-dashboard.json:
//   bun run src/metrics/dashboard.ts (from the repository root)   → rewrites that file (test/unit/metrics/dashboard.test.ts checks it is current)
import {
  AUDIT_SHIPPING_METRICS,
  CAS_GAUGES as C,
  STACK_GAUGES as K,
  LAS_GAUGES as L,
  CONTROLLER_METRICS as R,
  SGXPLUGIN_GAUGES as S,
  SGXPLUGIN_NODE_GAUGES as SN,
  WEBHOOK_GAUGES,
} from "./catalog.ts";

export const DASHBOARD_UID = "scone-stack";
export const DASHBOARD_PATH = "docs/monitoring/scone-dashboard.json";

interface Target {
  readonly expr: string;
  readonly legendFormat: string;
}

interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly type: "timeseries" | "stat";
  readonly unit?: string;
  readonly targets: readonly Target[];
}

const RES = "{{cr_namespace}}/{{cr_name}}";
const NAME = "{{cr_name}}";
const t = (expr: string, legendFormat: string): Target => ({ expr, legendFormat });
/** The CAS gauges filtered by the dashboard's namespace variable. */
const cas = (metric: string) => `${metric}{cr_namespace=~"$namespace"}`;

/** Rows of panels, each row a heading and its panels (four per row at most). */
export const DASHBOARD_ROWS: readonly { readonly title: string; readonly panels: readonly PanelSpec[] }[] = [
  {
    title: "CAS",
    panels: [
      {
        title: "CAS state",
        description: "1 HEALTHY, 0 PENDING, -1 UNHEALTHY (alert SconeCASNotHealthy)",
        type: "timeseries",
        targets: [t(cas(C.state.name), RES)],
      },
      {
        title: "CAS phase",
        description:
          "0 UNHEALTHY, 0.125 SnapshotFailure, 0.25 AttestationFailure, 0.375 EnablingMigration, 0.5 Uninitialized, 0.625 Unprovisioned, 0.75 Provisioned, 0.875 HEALTHY",
        type: "timeseries",
        targets: [t(cas(C.phase.name), RES)],
      },
      {
        title: "CAS alerts",
        description: "Upstream's *_alert gauges: non-zero is a problem, -1 unknown",
        type: "timeseries",
        targets: [
          t(cas(C.replicaAlert.name), `replicas ${RES}`),
          t(cas(C.podDisruptionBudgetAlert.name), `PDB ${RES}`),
          t(cas(C.migrationControllerReplicaAlert.name), `backup controller ${RES}`),
        ],
      },
      {
        title: "Safety service",
        description: "3 Healthy, 2 Alert, 1 Unhealthy, 0 Disabled, -1 Unknown",
        type: "timeseries",
        targets: [t(cas(C.safetyServiceStatus.name), RES)],
      },
    ],
  },
  {
    title: "Snapshots, migration and backups",
    panels: [
      {
        title: "Age of the last snapshot",
        description: "Seconds since the last completed database snapshot; dashed: twice the interval",
        type: "timeseries",
        unit: "s",
        targets: [
          t(`time() - ${cas(C.snapshotTimestamp.name)} and ${cas(C.snapshotTimestamp.name)} > 0`, RES),
          t(`2 * ${cas(C.snapshotConfiguredInterval.name)}`, `2× interval ${RES}`),
        ],
      },
      {
        title: "Snapshot status",
        description: "1 Persisted, 0.75 Ephemeral, 0.5 Initializing, 0.25 Disabled, 0 Failed, -1 unknown",
        type: "timeseries",
        targets: [t(cas(C.snapshotStatus.name), RES)],
      },
      {
        title: "Migration ratio",
        description: "Eligible nodes with a registered backup CAS (1 = n/n; alert SconeCASMigrationRatioBelowFull)",
        type: "timeseries",
        unit: "percentunit",
        targets: [
          t(
            `${cas(C.numMigratableNodes.name)} / (${cas(C.numMigratableNodes.name)} + ${cas(C.migrationNodeAlert.name)})`,
            RES,
          ),
        ],
      },
      {
        title: "Age of the last stack backup",
        description: "Seconds since the Scone stack's last completed scheduled backup; dashed: twice the schedule",
        type: "timeseries",
        unit: "s",
        targets: [
          t(`time() - ${K.lastBackupTimestamp.name} and ${K.backupInterval.name} > 0`, NAME),
          t(`2 * ${K.backupInterval.name} > 0`, `2× schedule ${NAME}`),
        ],
      },
    ],
  },
  {
    title: "LAS and SGX plugin",
    panels: [
      {
        title: "LAS",
        description: "Nodes selected and available; replica and probe alerts",
        type: "timeseries",
        targets: [
          t(L.desiredNumberScheduled.name, `desired ${NAME}`),
          t(L.numberAvailable.name, `available ${NAME}`),
          t(L.lasReplicaAlert.name, `replica alert ${NAME}`),
          t(L.lasProbeAlert.name, `probe alert ${NAME}`),
        ],
      },
      {
        title: "SGX plugin",
        description: "Serving replica ratio and alerts",
        type: "timeseries",
        targets: [
          t(S.servingReplicaRatio.name, `serving ratio ${NAME}`),
          t(S.sgxReplicaAlert.name, `replica alert ${NAME}`),
          t(S.sgxDeviceAlert.name, `device alert ${NAME}`),
        ],
      },
      {
        title: "SGX devices per node",
        description: "Allocatable and used sgx.intel.com/enclave",
        type: "timeseries",
        targets: [t(SN.capacity.name, "capacity {{node}}"), t(SN.used.name, "used {{node}}")],
      },
      {
        title: "Stack and agents state",
        description: "1 HEALTHY/Running, 0 PENDING, -1 UNHEALTHY/Error",
        type: "timeseries",
        targets: [
          t(L.state.name, `LAS ${NAME}`),
          t(S.state.name, `SGX plugin ${NAME}`),
          t(K.state.name, `stack ${NAME}`),
        ],
      },
    ],
  },
  {
    title: "Operator",
    panels: [
      {
        title: "Reconciles per second",
        description: "By controller and result",
        type: "timeseries",
        unit: "ops",
        targets: [t(`sum by (controller, result) (rate(${R.reconcileTotal.name}[5m]))`, "{{controller}} {{result}}")],
      },
      {
        title: "Reconcile errors",
        description: "Failed reconciles per second (alert SconeReconcileErrors); the operator logs each",
        type: "timeseries",
        unit: "ops",
        targets: [t(`sum by (controller) (rate(${R.reconcileErrors.name}[5m]))`, "{{controller}}")],
      },
      {
        title: "Reconcile duration p95",
        description: "95th percentile per controller",
        type: "timeseries",
        unit: "s",
        targets: [
          t(
            `histogram_quantile(0.95, sum by (controller, le) (rate(${R.reconcileDuration.name}_bucket[5m])))`,
            "{{controller}}",
          ),
        ],
      },
      {
        title: "Work queue depth",
        description: "Keys waiting per controller",
        type: "timeseries",
        targets: [t(R.queueDepth.name, "{{controller}}")],
      },
      {
        title: "Webhook certificate expires in",
        description: "Renewed at 2/3 of its life (alert SconeWebhookCertificateExpiringSoon below 14 days)",
        type: "stat",
        unit: "s",
        targets: [t(`min(${WEBHOOK_GAUGES.certificateExpiry.name}) - time()`, "expires in")],
      },
      {
        title: "Audit shipping lag",
        description: "Age of the oldest unshipped CAS audit-log entry (alert SconeAuditShippingLag)",
        type: "timeseries",
        unit: "s",
        targets: [t(AUDIT_SHIPPING_METRICS.lag.name, "{{cr_namespace}}/{{cr_name}}")],
      },
    ],
  },
];

// Grafana's variable syntax, not a template string.
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana resolves ${datasource} when the dashboard loads
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** The dashboard as Grafana's JSON model (schemaVersion 39), with a datasource and a CAS namespace variable. */
export function grafanaDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of DASHBOARD_ROWS) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y } });
    y += 1;
    row.panels.forEach((p, i) => {
      const w = 24 / Math.min(4, row.panels.length);
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { h: 8, w, x: (i % 4) * w, y: y + Math.floor(i / 4) * 8 },
        fieldConfig: { defaults: p.unit ? { unit: p.unit } : {}, overrides: [] },
        options: {},
        targets: p.targets.map((target, k) => ({
          refId: String.fromCharCode(65 + k),
          datasource: DATASOURCE,
          expr: target.expr,
          legendFormat: target.legendFormat,
        })),
      });
    });
    y += 8 * Math.ceil(row.panels.length / 4);
  }
  return {
    uid: DASHBOARD_UID,
    title: "SCONE stack",
    description: "CAS, LAS, SGX plugin, snapshots, backups and the scone operator's reconciles (docs/monitoring.md)",
    tags: ["scone"],
    schemaVersion: 39,
    editable: true,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    templating: {
      list: [
        { name: "datasource", type: "datasource", query: "prometheus", label: "Prometheus" },
        {
          name: "namespace",
          type: "query",
          label: "CAS namespace",
          datasource: DATASOURCE,
          query: `label_values(${C.state.name}, cr_namespace)`,
          includeAll: true,
          multi: true,
          allValue: ".*",
          refresh: 2,
        },
      ],
    },
    panels,
  };
}

/** Every PromQL expression in a dashboard's JSON model: panel targets and label_values() of query variables. */
export function dashboardExpressions(dashboard: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key?: string): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, k);
    else if (typeof v === "string" && key === "expr") out.push(v);
    else if (typeof v === "string" && key === "query") {
      const m = /^label_values\((.*),\s*[a-zA-Z_]+\)$/.exec(v);
      if (m?.[1]) out.push(m[1]);
    }
  };
  walk(dashboard);
  return out;
}

export const dashboardJson = (): string => `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;

// Run from the repository's root (the path is relative to it).
if (import.meta.main) await Bun.write(DASHBOARD_PATH, dashboardJson());
