// The monitoring objects of `scone operator install --monitoring` and the chart's `monitoring.enabled`: a
// ServiceMonitor on the metrics Service (upstream's selector, control-plane=controller-manager, port http) and a
// PrometheusRule with the alerts of src/metrics/rules.ts. Both are prometheus-operator kinds (monitoring.coreos.com/v1),
// so they are opt-in: a cluster without those CRDs refuses them, and the install says which flag to drop.
import type { KubeObject } from "../kube/types.ts";
import { alertRuleGroups } from "../metrics/rules.ts";
import { installClusterName, OPERATOR_POD_LABELS } from "./names.ts";

export const MONITORING_API_VERSION = "monitoring.coreos.com/v1";
export const SERVICE_MONITOR_NAME = "scone-controller-manager-metrics-monitor";
export const PROMETHEUS_RULE_NAME = "scone-operator-alerts";
/** The CRDs the objects need: `--monitoring` checks they are served before applying anything. */
export const MONITORING_CRDS = ["servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"];

/** With --metrics-secure: the ClusterRole a scraper's ServiceAccount is bound to (kubebuilder's metrics-reader). */
export const METRICS_READER_ROLE = "scone-metrics-reader";

/**
 * The endpoint Prometheus scrapes: plain HTTP, or with --metrics-secure HTTPS (the operator's self-signed
 * certificate, hence no verification) presenting Prometheus' own ServiceAccount token, which the operator reviews.
 */
function metricsEndpoint(secure: boolean): Record<string, unknown> {
  const base = { port: "http", path: "/metrics", interval: "30s" };
  return secure
    ? {
        ...base,
        scheme: "https",
        bearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
        tlsConfig: { insecureSkipVerify: true },
      }
    : { ...base, scheme: "http" };
}

export function renderMetricsReaderRole(namespace: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    // One per install, like the operator's other cluster-scoped objects (names.ts).
    metadata: { name: installClusterName(METRICS_READER_ROLE, namespace), labels: { ...labels } },
    rules: [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }],
  } as KubeObject;
}

export function renderServiceMonitor(namespace: string, labels: Record<string, string>, secure = false): KubeObject {
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: "ServiceMonitor",
    metadata: { name: SERVICE_MONITOR_NAME, namespace, labels: { ...labels } },
    spec: {
      selector: { matchLabels: { "control-plane": OPERATOR_POD_LABELS["control-plane"] } },
      namespaceSelector: { matchNames: [namespace] },
      endpoints: [metricsEndpoint(secure)],
    },
  } as KubeObject;
}

export function renderPrometheusRule(namespace: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: "PrometheusRule",
    metadata: { name: PROMETHEUS_RULE_NAME, namespace, labels: { ...labels } },
    spec: { groups: alertRuleGroups() },
  } as KubeObject;
}

/**
 * The objects for an install: the ServiceMonitor only with the in-cluster operator (url mode has no metrics
 * Service: the local operator process is scraped by whoever runs it), the rules always.
 */
export function renderMonitoring(
  namespace: string,
  labels: Record<string, string>,
  opts: { readonly inCluster: boolean; readonly metricsSecure: boolean },
): KubeObject[] {
  return [
    ...(opts.inCluster ? [renderServiceMonitor(namespace, labels, opts.metricsSecure)] : []),
    renderPrometheusRule(namespace, labels),
  ];
}
