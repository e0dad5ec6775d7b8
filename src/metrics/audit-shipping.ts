// Metrics of CAS audit-log shipping (the operator's shipper, src/operator/audit), labelled like the scone_cas_*
// gauges (cr_name, cr_namespace). Lag is the age of the oldest entry read but not yet in the archive.
import { AUDIT_SHIPPING_METRICS } from "./catalog.ts";
import type { Counter, Gauge, MetricsRegistry } from "./registry.ts";

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
    entries: registry.counter(m.entries.name, m.entries.help),
    segments: registry.counter(m.segments.name, m.segments.help),
    bytes: registry.counter(m.bytes.name, m.bytes.help),
    failures: registry.counter(m.failures.name, m.failures.help),
    lag: registry.gauge(m.lag.name, m.lag.help),
    lastSeq: registry.gauge(m.lastSeq.name, m.lastSeq.help),
    lastShipped: registry.gauge(m.lastShipped.name, m.lastShipped.help),
  };
}

/** Drops a CAS's series (the CAS was deleted). */
export function removeAuditShippingSeries(metrics: AuditShippingMetrics, labels: Record<string, string>): void {
  for (const metric of Object.values(metrics)) (metric as Counter | Gauge).removeMatching(labels);
}
