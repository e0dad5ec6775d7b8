// The operator's manager, after controller-runtime's: it owns the controllers, starts them only while this
// replica leads, serves probes and metrics, and on SIGTERM drains the workers before releasing the lease.
import type { Logger } from "../log.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import type { Controller } from "../runtime/controller.ts";
import { LeaderElector, type LeaseStore } from "../runtime/leader-election.ts";
import { probeHandler, ReadinessChecks } from "./health.ts";

export interface ManagerOptions {
  readonly log: Logger;
  readonly probePort: number;
  readonly metricsPort: number;
  readonly bindAddress?: string;
  /**
   * --metrics-secure: /metrics over HTTPS with this certificate, each request let through by `guard` (TokenReview
   * and SubjectAccessReview, src/metrics/auth.ts); the plain probe port then serves no metrics.
   */
  readonly metricsSecurity?: {
    readonly tls: { readonly cert: string; readonly key: string };
    readonly guard: (req: Request) => Promise<Response | undefined>;
  };
  /** When set, controllers run only while this replica holds the lease. */
  readonly leaderElection?: { store: LeaseStore; namespace: string; name: string; identity: string };
}

/** A runnable started when leading (controllers, informers that feed them) and stopped on hand-over. */
export interface Runnable {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void>;
}

export class Manager {
  readonly metrics = new MetricsRegistry();
  readonly readiness = new ReadinessChecks();
  private readonly runnables: Runnable[] = [];
  /** Started on every replica at once (caches), so a standby takes over with warm informers. */
  private readonly always: Runnable[] = [];
  private readonly servers: ReturnType<typeof Bun.serve>[] = [];
  private elector: LeaderElector | undefined;
  private leading = false;
  private stopping: Promise<void> | undefined;
  private readonly startedAtMs = Date.now();
  private readonly done: { promise: Promise<void>; resolve: () => void };

  constructor(private readonly opts: ManagerOptions) {
    let resolve: () => void = () => {};
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.done = { promise, resolve };
  }

  /** Adds a runnable that acts on the cluster: started only while this replica leads. */
  add(r: Runnable): void {
    this.runnables.push(r);
  }

  /** Adds a runnable that only observes (informers): started on every replica, before election. */
  addAlways(r: Runnable): void {
    this.always.push(r);
  }

  addController(c: Controller): void {
    this.add({ name: `controller/${c.name}`, start: () => c.start(), stop: () => c.stop() });
  }

  get ports(): { probe: number; metrics: number } {
    return { probe: this.servers[0]?.port ?? 0, metrics: this.servers[1]?.port ?? 0 };
  }

  isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    const handler = probeHandler({ readiness: this.readiness, registry: this.metrics, startedAtMs: this.startedAtMs });
    const hostname = this.opts.bindAddress ?? "0.0.0.0";
    const secure = this.opts.metricsSecurity;
    if (secure) {
      const probesOnly = probeHandler({ readiness: this.readiness, startedAtMs: this.startedAtMs });
      const guarded = async (req: Request) => (await secure.guard(req)) ?? handler(req);
      this.servers.push(Bun.serve({ port: this.opts.probePort, hostname, fetch: probesOnly }));
      this.servers.push(Bun.serve({ port: this.opts.metricsPort, hostname, fetch: guarded, tls: secure.tls }));
    } else {
      this.servers.push(Bun.serve({ port: this.opts.probePort, hostname, fetch: handler }));
      this.servers.push(Bun.serve({ port: this.opts.metricsPort, hostname, fetch: handler }));
    }
    this.opts.log.info("serving probes and metrics", this.ports);
    for (const r of this.always) await r.start();
    const le = this.opts.leaderElection;
    if (!le) {
      await this.startLeading();
      return;
    }
    this.elector = new LeaderElector(le.store, {
      ...le,
      onStartedLeading: () => {
        this.opts.log.info("became leader", { lease: `${le.namespace}/${le.name}`, holder: le.identity });
        void this.startLeading();
      },
      onStoppedLeading: () => {
        // Another replica may act now: stop at once (controller-runtime exits the process here).
        this.opts.log.error("lost leadership; stopping", { lease: `${le.namespace}/${le.name}` });
        void this.stop();
      },
      onError: (e) => this.opts.log.warn("leader election attempt failed", { error: errorMessage(e) }),
    });
    this.opts.log.info("waiting for leadership", { lease: `${le.namespace}/${le.name}`, holder: le.identity });
    this.elector.start();
  }

  private async startLeading(): Promise<void> {
    this.leading = true;
    for (const r of this.runnables) {
      await r.start();
      this.opts.log.debug("started", { runnable: r.name });
    }
  }

  /** Drains every runnable, releases the lease, closes the servers. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const r of [...this.runnables].reverse()) {
        try {
          await r.stop();
        } catch (e) {
          this.opts.log.warn("stop failed", { runnable: r.name, error: errorMessage(e) });
        }
      }
      this.leading = false;
      await this.elector?.stop();
      for (const r of [...this.always].reverse()) {
        try {
          await r.stop();
        } catch (e) {
          this.opts.log.warn("stop failed", { runnable: r.name, error: errorMessage(e) });
        }
      }
      for (const s of this.servers) s.stop(true);
      this.done.resolve();
    })();
    return this.stopping;
  }

  /** Resolves once the manager has stopped. */
  wait(): Promise<void> {
    return this.done.promise;
  }
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
