import { describe, expect, test } from "bun:test";
import type { V1Lease } from "@kubernetes/client-node";
import { FakeClock } from "../../../src/runtime/clock.ts";
import { LeaderElector, type LeaseStore, microTime } from "../../../src/runtime/leader-election.ts";

/** An in-memory lease store with the API server's optimistic concurrency (stale resourceVersion → conflict). */
class MemoryLeaseStore implements LeaseStore {
  lease: V1Lease | undefined;
  rv = 0;
  failing = false;
  async get(): Promise<V1Lease | undefined> {
    if (this.failing) throw new Error("api down");
    return this.lease && structuredClone(this.lease);
  }
  async create(l: V1Lease): Promise<V1Lease> {
    if (this.failing) throw new Error("api down");
    if (this.lease) throw new Error("AlreadyExists");
    this.lease = { ...structuredClone(l), metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
  async replace(l: V1Lease): Promise<V1Lease> {
    if (this.failing) throw new Error("api down");
    if (l.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw new Error("Conflict");
    this.lease = { ...structuredClone(l), metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
}

/** Holds each replace (while `hold` is set) until the test lets it through, to order concurrent writes. */
class HeldReplaceStore extends MemoryLeaseStore {
  hold = false;
  readonly waiting: (() => void)[] = [];
  override async replace(l: V1Lease): Promise<V1Lease> {
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return super.replace(l);
  }
  releaseNext(): void {
    this.waiting.shift()?.();
  }
}

const elector = (store: LeaseStore, clock: FakeClock, identity: string, log: string[]) =>
  new LeaderElector(store, {
    namespace: "scone-system",
    name: "scone-operator",
    identity,
    clock,
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });

describe("leader election", () => {
  test("microTime has microsecond precision", () => {
    expect(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe("2026-01-02T03:04:05.678000Z");
  });

  test("a second replica waits while the leader renews, then takes over after the lease expires", async () => {
    const clock = new FakeClock(1_000_000);
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, "a", log);
    const b = elector(store, clock, "b", log);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.advance(10_000);
    expect(await a.tryAcquireOrRenew()).toBe(true); // renew
    clock.advance(10_000);
    expect(await b.tryAcquireOrRenew()).toBe(false); // b saw the renewal 10 s ago: still valid
    clock.advance(16_000);
    expect(await b.tryAcquireOrRenew()).toBe(true); // a stopped renewing: expired
    expect(store.lease?.spec?.holderIdentity).toBe("b");
    expect(store.lease?.spec?.leaseTransitions).toBe(1);
  });

  test("a graceful stop releases the lease so the other replica acquires at once", async () => {
    const clock = new FakeClock(5_000);
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, "a", log);
    const b = elector(store, clock, "b", log);
    a.start();
    await Bun.sleep(1);
    expect(a.isLeader()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await a.stop();
    expect(store.lease?.spec?.holderIdentity).toBe("");
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(log).toEqual(["a started"]);
  });

  test("a graceful stop during a renewal still releases the lease (the renewal lands first)", async () => {
    const clock = new FakeClock(5_000);
    const store = new HeldReplaceStore();
    const a = elector(store, clock, "a", []);
    a.start();
    await Bun.sleep(1);
    expect(a.isLeader()).toBe(true);
    store.hold = true;
    clock.advance(2_000); // the renewal reads the lease and waits in replace
    await Bun.sleep(1);
    expect(store.waiting.length).toBe(1);
    const stopping = a.stop();
    await Bun.sleep(1); // a stop that does not wait for the renewal reads the lease now, before the renewal lands
    store.releaseNext();
    await Bun.sleep(1);
    store.hold = false;
    for (const release of store.waiting.splice(0)) release();
    await stopping;
    expect(store.lease?.spec?.holderIdentity).toBe("");
  });

  test("the leader steps down when renewals fail past the renew deadline", async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, "a", log);
    a.start();
    await Bun.sleep(1);
    expect(a.isLeader()).toBe(true);
    store.failing = true;
    for (let i = 0; i < 6; i++) {
      clock.advance(2_000);
      await Bun.sleep(1);
    }
    expect(a.isLeader()).toBe(false);
    expect(log).toEqual(["a started", "a stopped"]);
    await a.stop();
  });

  test("two electors racing on the same lease never both win (optimistic concurrency)", async () => {
    const clock = new FakeClock(0);
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const results = await Promise.allSettled([
      elector(store, clock, "a", log).tryAcquireOrRenew(),
      elector(store, clock, "b", log).tryAcquireOrRenew(),
    ]);
    const winners = results.filter((r) => r.status === "fulfilled" && r.value === true);
    expect(winners.length).toBe(1);
  });
});
