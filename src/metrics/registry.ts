// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition
// format (version 0.0.4). Written in-house because the operator needs only these three types and prom-client
// pulls Node-specific cluster/gc collectors that add start-up cost for no use here.

export type Labels = Readonly<Record<string, string>>;
type MetricType = "counter" | "gauge" | "histogram";

const labelKey = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join("\u0000");

const escapeLabelValue = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

export const formatLabels = (labels: Labels): string => {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k] ?? "")}"`).join(",")}}`;
};

const formatValue = (v: number): string => {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
};

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  }
  abstract samples(): string[];
  render(): string {
    const lines = this.samples();
    if (lines.length === 0) return "";
    return `# HELP ${this.name} ${this.help.replace(/\n/g, " ")}\n# TYPE ${this.name} ${this.type}\n${lines.join("\n")}\n`;
  }
}

class ValueMetric extends Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  protected update(labels: Labels, f: (old: number) => number): void {
    const key = labelKey(labels);
    const cur = this.values.get(key);
    this.values.set(key, { labels, value: f(cur?.value ?? 0) });
  }
  get(labels: Labels = {}): number | undefined {
    return this.values.get(labelKey(labels))?.value;
  }
  /** Drops one series, e.g. when the custom resource it describes is deleted. */
  remove(labels: Labels): void {
    this.values.delete(labelKey(labels));
  }
  /** Drops every series whose labels include all of `match`. */
  removeMatching(match: Labels): void {
    for (const [k, v] of this.values) {
      if (Object.entries(match).every(([mk, mv]) => v.labels[mk] === mv)) this.values.delete(k);
    }
  }
  samples(): string[] {
    return [...this.values.values()].map((s) => `${this.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
}

export class Counter extends ValueMetric {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`counter ${this.name} cannot decrease`);
    this.update(labels, (v) => v + by);
  }
}

export class Gauge extends ValueMetric {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(labels: Labels, value: number): void {
    this.update(labels, () => value);
  }
  inc(labels: Labels = {}, by = 1): void {
    this.update(labels, (v) => v + by);
  }
  dec(labels: Labels = {}, by = 1): void {
    this.update(labels, (v) => v - by);
  }
}

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export class Histogram extends Metric {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[] = DEFAULT_BUCKETS,
  ) {
    super(name, help, "histogram");
  }
  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i] = (s.counts[i] ?? 0) + 1;
    });
    s.sum += value;
    s.count += 1;
  }
  samples(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        out.push(`${this.name}_bucket${formatLabels({ ...s.labels, le: formatValue(b) })} ${s.counts[i] ?? 0}`);
      });
      out.push(`${this.name}_bucket${formatLabels({ ...s.labels, le: "+Inf" })} ${s.count}`);
      out.push(`${this.name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${formatLabels(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  private register<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) {
      if (existing.type !== m.type) throw new Error(`metric ${m.name} registered twice with different types`);
      return existing as M;
    }
    this.metrics.set(m.name, m);
    return m;
  }
  counter(name: string, help: string): Counter {
    return this.register(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.register(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, buckets));
  }
  render(): string {
    return [...this.metrics.values()].map((m) => m.render()).join("");
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
