// One informer (one list+watch, one cache) per (kind, namespace, selectors), shared by every controller that asks
// for it, so two controllers watching Pods cost one watch. health() aggregates them for /readyz.
import type { KubeClient } from "./client.ts";
import {
  clientListWatch,
  Informer,
  type InformerHealth,
  type InformerOptions,
  type InformerScope,
} from "./informer.ts";
import type { KubeObject } from "./types.ts";

/**
 * What the cache of one scope keeps of each object (applied after managedFields are stripped). A projection is for
 * every reader of that scope at once, so it must keep every field any of them reads; undefined: the whole object.
 */
export type ScopeProjection = (scope: InformerScope) => ((obj: KubeObject) => KubeObject) | undefined;

export type SharedInformerOptions = Omit<InformerOptions<KubeObject>, "transform" | "name"> & {
  projection?: ScopeProjection;
};

export interface AggregateHealth {
  healthy: boolean;
  informers: InformerHealth[];
}

export function scopeKey(scope: InformerScope): string {
  return [
    `${scope.type.apiVersion}/${scope.type.kind}`,
    scope.namespace ?? "*",
    scope.labelSelector ?? "",
    scope.fieldSelector ?? "",
  ].join("|");
}

export class SharedInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private started = false;

  /**
   * Options apply to every informer made here (resync, watch timeout, managedFields stripping, logger); `projection`
   * chooses per scope what its cache keeps.
   */
  constructor(
    private readonly client: KubeClient,
    private readonly options: SharedInformerOptions = {},
  ) {}

  /** The shared informer for this scope; created on first use and started if the factory already runs. */
  informer<T extends KubeObject>(scope: InformerScope): Informer<T> {
    const key = scopeKey(scope);
    let inf = this.informers.get(key);
    if (!inf) {
      const { projection, ...options } = this.options;
      const transform = projection?.(scope);
      inf = new Informer<KubeObject>(clientListWatch(this.client, scope), {
        ...options,
        name: key,
        ...(transform ? { transform } : {}),
      });
      this.informers.set(key, inf);
      if (this.started) inf.start();
    }
    // The cache holds objects of the scope's kind only; the type parameter is the caller's statement of that kind.
    return inf as unknown as Informer<T>;
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.informers.values()].map((inf) => inf.stop()));
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    return Promise.all([...this.informers.values()].map((inf) => inf.waitForSync(signal))).then(() => {});
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((inf) => inf.hasSynced());
  }

  health(): AggregateHealth {
    const informers = [...this.informers.values()].map((inf) => inf.health());
    return { healthy: informers.every((h) => h.healthy), informers };
  }
}
