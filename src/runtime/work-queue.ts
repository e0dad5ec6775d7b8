// The per-key work queue of controller-runtime / client-go: a key waiting in the queue is stored once
// (deduplicated), a key being processed is never handed to a second worker (one reconcile in flight per
// object), and a key added while it is processed runs again once, after `done`.
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiter.ts";

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { at: number; timer: TimerHandle }>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly limiter: RateLimiter = defaultControllerRateLimiter(clock),
  ) {}

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(key);
      this.processing.add(key);
      getter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Adds `key` after `ms`; an earlier pending deadline for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** Re-adds a failed key after its backoff. */
  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  /** Resets the backoff of a key that succeeded (or failed terminally). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  failures(key: string): number {
    return this.limiter.failures(key);
  }

  /** Resolves with the next key, or undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Stops handing out keys; workers waiting in get() receive undefined. Keys in flight finish normally. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g(undefined);
    this.queue.length = 0;
    this.dirty.clear();
  }

  get length(): number {
    return this.queue.length;
  }
  get inFlight(): number {
    return this.processing.size;
  }
  get delayed(): number {
    return this.waiting.size;
  }
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }
}
