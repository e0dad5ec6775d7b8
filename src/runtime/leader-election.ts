// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection: acquire when the
// lease is free or expired, renew every retry period, step down when renewal fails for the renew deadline,
// and release (empty holder) on a graceful stop so a waiting replica takes over at once.
// Expiry is judged by the local time at which we last saw the record change, never by the remote
// renewTime, so clock skew between replicas cannot make two leaders.
import type { V1Lease } from "@kubernetes/client-node";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";

/** The few Lease operations leader election needs; the kube layer implements it against the API server. */
export interface LeaseStore {
  get(namespace: string, name: string): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease>;
  /** Replaces the lease; must fail (throw) when metadata.resourceVersion is stale. */
  replace(lease: V1Lease): Promise<V1Lease>;
}

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number; // 15 s, as controller-runtime
  readonly renewDeadlineMs?: number; // 10 s
  readonly retryPeriodMs?: number; // 2 s
  readonly clock?: Clock;
  readonly onStartedLeading: () => void;
  /** Leadership lost without a graceful release: the process must stop acting at once. */
  readonly onStoppedLeading: () => void;
  readonly onError?: (e: unknown) => void;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

type LeaseSpec = NonNullable<V1Lease["spec"]>;

/** Decides what to write for an acquire-or-renew attempt; undefined when the lease is held by someone else. */
export function nextLeaseSpec(
  current: LeaseSpec | undefined,
  identity: string,
  nowMs: number,
  leaseDurationSeconds: number,
  heldByOtherAndValid: boolean,
): LeaseSpec | undefined {
  if (heldByOtherAndValid) return undefined;
  const now = microTime(nowMs) as unknown as Date; // client-node types MicroTime as Date; the wire format is a string
  const mine = current?.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: mine && current?.acquireTime ? current.acquireTime : now,
    renewTime: now,
    leaseTransitions: mine ? (current?.leaseTransitions ?? 0) : (current?.leaseTransitions ?? -1) + 1,
  };
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private observedKey = "";
  private observedAt = 0;
  private lastRenewAt = 0;
  private timer: TimerHandle | undefined;
  /** The acquire-or-renew attempt under way (tick never rejects). */
  private attempt: Promise<void> = Promise.resolve();
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private lastLease: V1Lease | undefined;

  constructor(
    private readonly store: LeaseStore,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.attempt = this.tick();
  }

  /** One acquire-or-renew attempt; returns whether we hold the lease afterwards. Exposed for tests. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = this.clock.now();
    const existing = await this.store.get(namespace, name);
    const spec = existing?.spec;
    const key = JSON.stringify([
      spec?.holderIdentity,
      String(spec?.renewTime ?? ""),
      existing?.metadata?.resourceVersion,
    ]);
    if (key !== this.observedKey) {
      this.observedKey = key;
      this.observedAt = now;
    }
    const holder = spec?.holderIdentity ?? "";
    const durationMs = (spec?.leaseDurationSeconds ?? 0) * 1000;
    const heldByOther = holder !== "" && holder !== identity && this.observedAt + durationMs > now;
    const next = nextLeaseSpec(spec, identity, now, Math.ceil(this.leaseMs / 1000), heldByOther);
    if (!next) return false;
    const body: V1Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: existing?.metadata ? { ...existing.metadata } : { name, namespace },
      spec: next,
    };
    this.lastLease = existing ? await this.store.replace(body) : await this.store.create(body);
    this.observedKey = JSON.stringify([
      next.holderIdentity,
      String(next.renewTime ?? ""),
      this.lastLease.metadata?.resourceVersion,
    ]);
    this.observedAt = now;
    this.lastRenewAt = now;
    return true;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.attempt = this.tick();
    }, this.retryMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (e) {
      this.opts.onError?.(e);
    }
    if (this.stopped) return;
    if (ok && !this.leading) {
      this.leading = true;
      this.opts.onStartedLeading();
    } else if (!ok && this.leading && this.clock.now() - this.lastRenewAt > this.renewDeadlineMs) {
      this.leading = false;
      this.opts.onStoppedLeading();
    }
    this.schedule();
  }

  /** Stops electing; when leading, releases the lease (empty holder, 1 s duration) so another replica takes over. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    // A renewal in flight would land between our read and our release: the release then conflicted and the lease
    // stayed held for its whole duration (or the renewal, landing last, took it back).
    await this.attempt;
    if (!this.leading) return;
    this.leading = false;
    try {
      const current = await this.store.get(this.opts.namespace, this.opts.name);
      if (current?.spec?.holderIdentity !== this.opts.identity) return;
      const now = microTime(this.clock.now()) as unknown as Date;
      await this.store.replace({
        ...current,
        spec: { ...current.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
      });
    } catch (e) {
      this.opts.onError?.(e);
    }
  }

  get lease(): V1Lease | undefined {
    return this.lastLease;
  }
}
