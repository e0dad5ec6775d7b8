// The reconcile loop shared by every kind, after controller-runtime's contract: Reconcile(request) →
// result or error. An error requeues with per-key backoff; a TerminalError is recorded and not retried;
// `requeueAfterMs` schedules the next check; success resets the backoff.
import { CONTROLLER_METRICS as C } from "../metrics/catalog.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { type Clock, systemClock } from "./clock.ts";
import { WorkQueue } from "./work-queue.ts";

/** An error retrying cannot fix (bad spec, missing permission the user must grant): logged, not requeued. */
export class TerminalError extends Error {
  override readonly name = "TerminalError";
}

export interface ReconcileRequest {
  readonly namespace?: string;
  readonly name: string;
}

export interface ReconcileResult {
  readonly requeueAfterMs?: number;
}

export interface ReconcileContext {
  readonly signal: AbortSignal;
  /** What this reconcile did, in words ("apply DaemonSet scone-system/las"); recorded in the history. */
  readonly actions: string[];
  /** The reconciler notes the object version it acted on, for the history. */
  observed?: { generation?: number; resourceVersion?: string };
}

export type Reconciler = (req: ReconcileRequest, ctx: ReconcileContext) => Promise<ReconcileResult | undefined>;

export type ReconcileOutcome = "success" | "requeue" | "error" | "terminal";

export interface ReconcileRecord {
  readonly controller: string;
  readonly request: ReconcileRequest;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly outcome: ReconcileOutcome;
  readonly actions: readonly string[];
  readonly error?: string;
  readonly requeueAfterMs?: number;
  readonly generation?: number;
  readonly resourceVersion?: string;
}

export interface ControllerOptions {
  readonly name: string;
  readonly reconcile: Reconciler;
  readonly workers?: number;
  readonly clock?: Clock;
  readonly queue?: WorkQueue;
  readonly metrics?: MetricsRegistry;
  readonly onRecord?: (r: ReconcileRecord) => void;
}

export const requestKey = (r: ReconcileRequest): string => (r.namespace ? `${r.namespace}/${r.name}` : r.name);
export const parseRequestKey = (key: string): ReconcileRequest => {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
};

export class Controller {
  readonly queue: WorkQueue;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];

  constructor(private readonly opts: ControllerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.queue = opts.queue ?? new WorkQueue(this.clock);
    // The error counter exists at 0 from the start (as controller-runtime's does): rate() and increase() over it
    // see the first error, and an alert rule on it is checked against a series that is there.
    opts.metrics?.counter(C.reconcileErrors.name, C.reconcileErrors.help).inc({ controller: opts.name }, 0);
  }

  get name(): string {
    return this.opts.name;
  }

  enqueue(req: ReconcileRequest): void {
    this.queue.add(requestKey(req));
  }

  enqueueAfter(req: ReconcileRequest, ms: number): void {
    this.queue.addAfter(requestKey(req), ms);
  }

  start(): void {
    const n = this.opts.workers ?? 2;
    for (let i = 0; i < n; i++) this.workers.push(this.work());
  }

  /** Stops taking new keys and waits until reconciles in flight have finished (drain before hand-over). */
  async stop(): Promise<void> {
    this.queue.shutdown();
    await Promise.all(this.workers);
    this.abort.abort();
    this.workers = [];
  }

  /** Runs one reconcile of `key` (exported for tests and for the CLI, which reconciles once without a queue). */
  async processKey(key: string): Promise<ReconcileRecord> {
    const request = parseRequestKey(key);
    const startedAt = this.clock.now();
    const t0 = performance.now();
    const ctx: ReconcileContext = { signal: this.abort.signal, actions: [] };
    const finish = (outcome: ReconcileOutcome, extra: Partial<ReconcileRecord>): ReconcileRecord => ({
      controller: this.name,
      request,
      startedAt,
      durationMs: performance.now() - t0,
      outcome,
      actions: ctx.actions,
      ...(ctx.observed?.generation === undefined ? {} : { generation: ctx.observed.generation }),
      ...(ctx.observed?.resourceVersion === undefined ? {} : { resourceVersion: ctx.observed.resourceVersion }),
      ...extra,
    });
    let record: ReconcileRecord;
    try {
      const result = await this.opts.reconcile(request, ctx);
      this.queue.forget(key);
      const after = result?.requeueAfterMs;
      if (after !== undefined && after > 0) {
        this.queue.addAfter(key, after);
        record = finish("requeue", { requeueAfterMs: after });
      } else {
        record = finish("success", {});
      }
    } catch (e) {
      const terminal = e instanceof TerminalError;
      if (terminal) this.queue.forget(key);
      else this.queue.addRateLimited(key);
      record = finish(terminal ? "terminal" : "error", { error: e instanceof Error ? e.message : String(e) });
    }
    this.observe(record);
    return record;
  }

  private observe(r: ReconcileRecord): void {
    const m = this.opts.metrics;
    if (m) {
      const labels = { controller: this.name };
      m.counter(C.reconcileTotal.name, C.reconcileTotal.help).inc({
        ...labels,
        result: r.outcome,
      });
      if (r.outcome === "error" || r.outcome === "terminal")
        m.counter(C.reconcileErrors.name, C.reconcileErrors.help).inc(labels);
      m.histogram(C.reconcileDuration.name, C.reconcileDuration.help).observe(labels, r.durationMs / 1000);
      m.gauge(C.queueDepth.name, C.queueDepth.help).set(labels, this.queue.length);
    }
    try {
      this.opts.onRecord?.(r);
    } catch {
      // recording history must never break reconciling
    }
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.processKey(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}
