// Metrics of CAS audit-log shipping (the operator's shipper, src/operator/audit), labelled like the scone_cas_*
// gauges (cr_name, cr_namespace). Lag is the age of the oldest entry read but not yet in the archive.
import type { Counter, Gauge, MetricsRegistry } from "./registry.ts";

export const AUDIT_SHIPPING_METRICS = {
  entries: "scone_cas_audit_shipped_entries_total",
  segments: "scone_cas_audit_shipped_segments_total",
  bytes: "scone_cas_audit_shipped_bytes_total",
  failures: "scone_cas_audit_shipping_failures_total",
  lag: "scone_cas_audit_shipping_lag_seconds",
  lastSeq: "scone_cas_audit_last_shipped_seq",
  lastShipped: "scone_cas_audit_last_shipped_timestamp_seconds",
} as const;

export interface AuditShippingMetrics {
  readonly entries: Counter;
  readonly segments: Counter;
  readonly bytes: Counter;
  /** Labelled also by `reason` (the condition reason of the failure). */
  readonly failures: Counter;
  readonly lag: Gauge;
  readonly lastSeq: Gauge;
  readonly lastShipped: Gauge;
}

export function auditShippingMetrics(registry: MetricsRegistry): AuditShippingMetrics {
  const m = AUDIT_SHIPPING_METRICS;
  return {
    entries: registry.counter(m.entries, "CAS audit-log entries written to the archive."),
    segments: registry.counter(m.segments, "CAS audit-log segments written to the archive."),
    bytes: registry.counter(m.bytes, "Bytes of CAS audit-log segments written to the archive."),
    failures: registry.counter(
      m.failures,
      "Failed attempts to ship CAS audit-log entries, by reason (ShippingFailed, ChainRejected).",
    ),
    lag: registry.gauge(m.lag, "Age in seconds of the oldest CAS audit-log entry read but not yet archived (0: none)."),
    lastSeq: registry.gauge(m.lastSeq, "Sequence number of the last archived entry of the CAS's current audit log."),
    lastShipped: registry.gauge(m.lastShipped, "Unix time of the last segment written to the archive."),
  };
}

/** Drops a CAS's series (the CAS was deleted). */
export function removeAuditShippingSeries(metrics: AuditShippingMetrics, labels: Record<string, string>): void {
  for (const metric of Object.values(metrics)) (metric as Counter | Gauge).removeMatching(labels);
}
