// --monitoring of `scone operator install` and `scone manifests`: one definition, so both mean the same.
export const MONITORING_ARG = {
  monitoring: {
    type: "boolean",
    description:
      "Also install a ServiceMonitor and a PrometheusRule with scone's alerts (needs prometheus-operator's monitoring.coreos.com CRDs; docs/monitoring.md)",
  },
  "metrics-secure": {
    type: "boolean",
    description:
      "The operator serves /metrics over HTTPS to callers whose token a TokenReview accepts and a SubjectAccessReview allows 'get /metrics'; installs the ClusterRole scone-metrics-reader (-NAMESPACE outside scone-system) to bind to the scraper's ServiceAccount",
  },
} as const;
