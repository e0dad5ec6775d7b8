// --monitoring of `scone operator install` and `scone manifests`: one definition, so both mean the same.
export const MONITORING_ARG = {
  monitoring: {
    type: "boolean",
    description:
      "Also install a ServiceMonitor and a PrometheusRule with scone's alerts (needs prometheus-operator's monitoring.coreos.com CRDs; docs/monitoring.md)",
  },
} as const;
