// client-go's default controller rate limiter: the larger of a per-item exponential backoff (5 ms doubling
// to 1000 s) and a global token bucket (10 qps, burst 100), so one failing object backs off on its own
// while a storm of failures cannot flood the API server.
import type { Clock } from "./clock.ts";

export interface RateLimiter {
  /** Delay before `key` may be processed again after a failure. */
  when(key: string): number;
  forget(key: string): void;
  failures(key: string): number;
}

export class ItemExponentialLimiter implements RateLimiter {
  private readonly counts = new Map<string, number>();
  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}
  when(key: string): number {
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    return Math.min(this.maxMs, this.baseMs * 2 ** n);
  }
  forget(key: string): void {
    this.counts.delete(key);
  }
  failures(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

export class TokenBucketLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  constructor(
    private readonly clock: Clock,
    private readonly qps = 10,
    private readonly burst = 100,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }
  when(_key: string): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1; // reserve a token, possibly in the future
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
  forget(_key: string): void {}
  failures(_key: string): number {
    return 0;
  }
}

export class MaxOfLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }
  when(key: string): number {
    return Math.max(...this.limiters.map((l) => l.when(key)));
  }
  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }
  failures(key: string): number {
    return Math.max(...this.limiters.map((l) => l.failures(key)));
  }
}

export const defaultControllerRateLimiter = (clock: Clock): RateLimiter =>
  new MaxOfLimiter(new ItemExponentialLimiter(), new TokenBucketLimiter(clock));
