// The per-resource gauges of a kind (scone_<kind>_*), labelled cr_name and cr_namespace, with upstream's names.
import type { KubeObject } from "../../kube/types.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";

export interface GaugeSpec {
  readonly name: string;
  readonly help: string;
}

/**
 * The gauges of one kind, labelled cr_name and cr_namespace (per-node gauges also node), with upstream's names.
 * Every series of a resource goes when the resource does.
 */
export class ResourceGauges<K extends string, N extends string> {
  constructor(
    private readonly registry: MetricsRegistry,
    private readonly scalar: Record<K, GaugeSpec>,
    private readonly perNode: Record<N, GaugeSpec>,
  ) {
    for (const g of [...Object.values<GaugeSpec>(scalar), ...Object.values<GaugeSpec>(perNode)])
      registry.gauge(g.name, g.help);
  }

  private labels(o: KubeObject) {
    return { cr_name: o.metadata?.name ?? "", cr_namespace: o.metadata?.namespace ?? "" };
  }

  set(o: KubeObject, values: Record<K, number>, nodeValues: Partial<Record<N, Record<string, number>>> = {}): void {
    const labels = this.labels(o);
    for (const k of Object.keys(this.scalar) as K[]) {
      const g = this.scalar[k];
      this.registry.gauge(g.name, g.help).set(labels, values[k]);
    }
    for (const k of Object.keys(this.perNode) as N[]) {
      const g = this.registry.gauge(this.perNode[k].name, this.perNode[k].help);
      g.removeMatching(labels);
      for (const [node, v] of Object.entries(nodeValues[k] ?? {})) g.set({ ...labels, node }, v);
    }
  }

  remove(name: string, namespace = ""): void {
    const labels = { cr_name: name, cr_namespace: namespace };
    for (const g of [...Object.values<GaugeSpec>(this.scalar), ...Object.values<GaugeSpec>(this.perNode)])
      this.registry.gauge(g.name, g.help).removeMatching(labels);
  }
}
