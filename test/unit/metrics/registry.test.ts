import { describe, expect, test } from "bun:test";
import { formatLabels, MetricsRegistry } from "../../../src/metrics/registry.ts";

describe("metrics registry", () => {
  test("renders counters and gauges in the Prometheus text format, labels sorted and escaped", () => {
    const r = new MetricsRegistry();
    r.counter("scone_reconcile_total", "Reconciles.").inc({ controller: "las", result: "success" }, 2);
    r.gauge("scone_las_state", "LAS state.").set({ cr_name: "las", cr_namespace: "" }, -1);
    const text = r.render();
    expect(text).toContain("# TYPE scone_reconcile_total counter\n");
    expect(text).toContain('scone_reconcile_total{controller="las",result="success"} 2\n');
    expect(text).toContain('scone_las_state{cr_name="las",cr_namespace=""} -1\n');
    expect(formatLabels({ msg: 'a"b\\c\nd' })).toBe('{msg="a\\"b\\\\c\\nd"}');
  });

  test("histogram buckets are cumulative and end with +Inf, sum and count", () => {
    const r = new MetricsRegistry();
    const h = r.histogram("d_seconds", "Durations.", [0.1, 1]);
    h.observe({ c: "x" }, 0.05);
    h.observe({ c: "x" }, 0.5);
    h.observe({ c: "x" }, 5);
    const text = r.render();
    expect(text).toContain('d_seconds_bucket{c="x",le="0.1"} 1\n');
    expect(text).toContain('d_seconds_bucket{c="x",le="1"} 2\n');
    expect(text).toContain('d_seconds_bucket{c="x",le="+Inf"} 3\n');
    expect(text).toContain('d_seconds_sum{c="x"} 5.55\n');
    expect(text).toContain('d_seconds_count{c="x"} 3\n');
  });

  test("a series can be removed when its resource goes away; counters refuse to decrease", () => {
    const r = new MetricsRegistry();
    const g = r.gauge("g", "g");
    g.set({ cr_name: "a" }, 1);
    g.set({ cr_name: "b" }, 2);
    g.removeMatching({ cr_name: "a" });
    expect(r.render()).not.toContain('cr_name="a"');
    expect(r.render()).toContain('g{cr_name="b"} 2');
    expect(() => r.counter("c", "c").inc({}, -1)).toThrow("cannot decrease");
    expect(() => r.gauge("c", "c")).toThrow("different types");
  });
});
