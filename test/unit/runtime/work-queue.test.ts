import { describe, expect, test } from "bun:test";
import { FakeClock } from "../../../src/runtime/clock.ts";
import { ItemExponentialLimiter, MaxOfLimiter, TokenBucketLimiter } from "../../../src/runtime/rate-limiter.ts";
import { WorkQueue } from "../../../src/runtime/work-queue.ts";

describe("work queue", () => {
  test("deduplicates keys waiting in the queue", async () => {
    const q = new WorkQueue(new FakeClock());
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
  });

  test("a key in flight is not handed out twice; re-added during processing it runs once more after done", async () => {
    const q = new WorkQueue(new FakeClock());
    q.add("a");
    const k = await q.get();
    expect(k).toBe("a");
    q.add("a");
    q.add("a");
    expect(q.length).toBe(0); // held back while in flight
    q.done("a");
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("a");
    q.done("a");
    expect(q.length).toBe(0);
  });

  test("a waiting getter receives a key added later", async () => {
    const q = new WorkQueue(new FakeClock());
    const p = q.get();
    q.add("x");
    expect(await p).toBe("x");
    expect(q.inFlight).toBe(1);
  });

  test("addAfter fires at the deadline, and the earliest deadline wins", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    q.addAfter("a", 1000);
    q.addAfter("a", 500);
    q.addAfter("a", 2000);
    clock.advance(499);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
    clock.advance(5000);
    expect(q.length).toBe(1);
  });

  test("rate-limited re-adds back off exponentially per key and forget resets", () => {
    const clock = new FakeClock();
    const limiter = new ItemExponentialLimiter(5, 1000);
    const q = new WorkQueue(clock, limiter);
    expect(limiter.when("k")).toBe(5);
    expect(limiter.when("k")).toBe(10);
    expect(limiter.when("k")).toBe(20);
    expect(limiter.when("other")).toBe(5);
    for (let i = 0; i < 20; i++) limiter.when("k");
    expect(limiter.when("k")).toBe(1000);
    q.forget("k");
    expect(limiter.when("k")).toBe(5);
  });

  test("the global token bucket delays once the burst is spent", () => {
    const clock = new FakeClock();
    const bucket = new TokenBucketLimiter(clock, 10, 3);
    expect([bucket.when("a"), bucket.when("b"), bucket.when("c")]).toEqual([0, 0, 0]);
    expect(bucket.when("d")).toBe(100);
    expect(bucket.when("e")).toBe(200);
    clock.advance(1000);
    expect(bucket.when("f")).toBe(0);
    const both = new MaxOfLimiter(new ItemExponentialLimiter(5, 1000), new TokenBucketLimiter(clock, 10, 100));
    expect(both.when("x")).toBe(5);
  });

  test("shutdown releases waiting getters with undefined and drops delayed keys", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    const p = q.get();
    q.addAfter("later", 100);
    q.shutdown();
    expect(await p).toBeUndefined();
    expect(clock.pendingTimers()).toBe(0);
    q.add("z");
    expect(q.length).toBe(0);
  });
});
