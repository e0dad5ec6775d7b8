// The monitoring objects of `scone operator install --monitoring` and the chart's `monitoring.enabled`: a
// ServiceMonitor on the metrics Service (upstream's selector, control-plane=controller-manager, port http) and a
// PrometheusRule with the alerts of src/metrics/rules.ts. Both are prometheus-operator kinds (monitoring.coreos.com/v1),
// so they are opt-in: a cluster without those CRDs refuses them, and the install says which flag to drop.
import type { KubeObject } from "../kube/types.ts";
import { alertRuleGroups } from "../metrics/rules.ts";
import { OPERATOR_POD_LABELS } from "./names.ts";

export const MONITORING_API_VERSION = "monitoring.coreos.com/v1";
export const SERVICE_MONITOR_NAME = "scone-controller-manager-metrics-monitor";
export const PROMETHEUS_RULE_NAME = "scone-operator-alerts";
/** The CRDs the objects need: `--monitoring` checks they are served before applying anything. */
export const MONITORING_CRDS = ["servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"];

export function renderServiceMonitor(namespace: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: "ServiceMonitor",
    metadata: { name: SERVICE_MONITOR_NAME, namespace, labels: { ...labels } },
    spec: {
      selector: { matchLabels: { "control-plane": OPERATOR_POD_LABELS["control-plane"] } },
      namespaceSelector: { matchNames: [namespace] },
      endpoints: [{ port: "http", path: "/metrics", interval: "30s", scheme: "http" }],
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
export function renderMonitoring(namespace: string, labels: Record<string, string>, inCluster: boolean): KubeObject[] {
  return [...(inCluster ? [renderServiceMonitor(namespace, labels)] : []), renderPrometheusRule(namespace, labels)];
}
