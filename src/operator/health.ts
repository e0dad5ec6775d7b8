// Liveness, readiness and metrics endpoints of the operator, the same paths controller-runtime serves
// (/healthz, /readyz on the probe port; /metrics on the metrics port), so upstream probes and ServiceMonitors fit.
import { PROCESS_GAUGES } from "../metrics/catalog.ts";
import { type MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "../metrics/registry.ts";

export interface CheckResult {
  readonly ok: boolean;
  readonly reason?: string;
}
export type HealthCheck = () => CheckResult;

/** Named readiness checks; informers, leader election and webhooks add theirs as they start. */
export class ReadinessChecks {
  private readonly checks = new Map<string, HealthCheck>();
  add(name: string, check: HealthCheck): void {
    this.checks.set(name, check);
  }
  remove(name: string): void {
    this.checks.delete(name);
  }
  evaluate(): { ok: boolean; results: Record<string, CheckResult> } {
    const results: Record<string, CheckResult> = {};
    let ok = true;
    for (const [name, check] of this.checks) {
      let r: CheckResult;
      try {
        r = check();
      } catch (e) {
        r = { ok: false, reason: e instanceof Error ? e.message : String(e) };
      }
      results[name] = r;
      ok &&= r.ok;
    }
    return { ok, results };
  }
}

/** Renders a readiness result the way Kubernetes components do: `[+]name ok` / `[-]name failed: reason`. */
export const renderReadiness = (r: { ok: boolean; results: Record<string, CheckResult> }): string =>
  `${Object.entries(r.results)
    .map(([n, c]) => (c.ok ? `[+]${n} ok` : `[-]${n} failed: ${c.reason ?? "not ready"}`))
    .join("\n")}\n${r.ok ? "readyz check passed" : "readyz check failed"}\n`;

export function updateProcessMetrics(registry: MetricsRegistry, startedAtMs: number): void {
  const mem = process.memoryUsage();
  const { residentMemory, heap, startTime } = PROCESS_GAUGES;
  registry.gauge(residentMemory.name, residentMemory.help).set({}, mem.rss);
  registry.gauge(heap.name, heap.help).set({}, mem.heapUsed);
  registry.gauge(startTime.name, startTime.help).set({}, Math.floor(startedAtMs / 1000));
}

export interface ProbeHandlerOptions {
  readonly readiness: ReadinessChecks;
  readonly registry?: MetricsRegistry;
  readonly startedAtMs: number;
}

/** One fetch handler for both ports: probes and metrics are cheap, so serving all paths on both is harmless. */
export function probeHandler(opts: ProbeHandlerOptions): (req: Request) => Response {
  return (req) => {
    const { pathname } = new URL(req.url);
    if (pathname === "/healthz" || pathname === "/livez") return new Response("ok\n");
    if (pathname === "/readyz") {
      const r = opts.readiness.evaluate();
      return new Response(renderReadiness(r), { status: r.ok ? 200 : 503 });
    }
    if (pathname === "/metrics" && opts.registry) {
      updateProcessMetrics(opts.registry, opts.startedAtMs);
      return new Response(opts.registry.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
    }
    return new Response("not found\n", { status: 404 });
  };
}
