import { describe, expect, test } from "bun:test";
import { MetricsRegistry } from "../../../src/metrics/registry.ts";
import { FakeClock } from "../../../src/runtime/clock.ts";
import { Controller, parseRequestKey, type ReconcileRecord, TerminalError } from "../../../src/runtime/controller.ts";

describe("controller", () => {
  test("errors requeue with backoff, terminal errors do not, success resets the backoff", async () => {
    const clock = new FakeClock();
    let mode: "fail" | "terminal" | "ok" = "fail";
    const records: ReconcileRecord[] = [];
    const c = new Controller({
      name: "t",
      clock,
      reconcile: async (_req, ctx) => {
        ctx.actions.push("did something");
        if (mode === "fail") throw new Error("boom");
        if (mode === "terminal") throw new TerminalError("bad spec");
        return undefined;
      },
      onRecord: (r) => records.push(r),
    });
    await c.processKey("ns/a");
    expect(c.queue.failures("ns/a")).toBe(1);
    expect(c.queue.delayed).toBe(1);
    await c.processKey("ns/a");
    expect(c.queue.failures("ns/a")).toBe(2);
    mode = "ok";
    await c.processKey("ns/a");
    expect(c.queue.failures("ns/a")).toBe(0);
    mode = "terminal";
    await c.processKey("ns/b");
    expect(c.queue.failures("ns/b")).toBe(0);
    expect(records.map((r) => r.outcome)).toEqual(["error", "error", "success", "terminal"]);
    expect(records[0]?.error).toBe("boom");
    expect(records[0]?.actions).toEqual(["did something"]);
  });

  test("requeueAfter schedules the next reconcile", async () => {
    const clock = new FakeClock();
    const c = new Controller({ name: "t", clock, reconcile: async () => ({ requeueAfterMs: 30_000 }) });
    const r = await c.processKey("x");
    expect(r.outcome).toBe("requeue");
    clock.advance(29_999);
    expect(c.queue.length).toBe(0);
    clock.advance(1);
    expect(c.queue.length).toBe(1);
  });

  test("workers never reconcile the same key concurrently, and stop drains in-flight work", async () => {
    // Each reconcile blocks until the test releases it, so what overlaps is decided here, not by timer speed.
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const releases: (() => void)[] = [];
    let entered: () => void = () => {};
    const nextEntry = () => new Promise<void>((resolve) => (entered = resolve));
    const c = new Controller({
      name: "t",
      workers: 4,
      reconcile: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        calls++;
        const released = new Promise<void>((resolve) => releases.push(resolve));
        entered();
        await released;
        inFlight--;
        return undefined;
      },
    });
    c.start();
    let firstEntry = nextEntry();
    c.enqueue({ namespace: "ns", name: "same" });
    await firstEntry;
    // Re-added nine times while in flight: held back (no second worker takes it), coalesced into one more run.
    for (let i = 0; i < 9; i++) c.enqueue({ namespace: "ns", name: "same" });
    await Bun.sleep(0); // let idle workers run, were the key wrongly handed out
    expect([calls, inFlight, c.queue.length]).toEqual([1, 1, 0]);
    firstEntry = nextEntry();
    releases.shift()?.();
    await firstEntry;
    expect([calls, inFlight]).toEqual([2, 1]);
    // stop() waits for the reconcile in flight.
    let stopped = false;
    const stopping = c.stop().then(() => {
      stopped = true;
    });
    await Bun.sleep(0);
    expect(stopped).toBe(false);
    releases.shift()?.();
    await stopping;
    expect(maxInFlight).toBe(1);
    expect(inFlight).toBe(0);
    expect(calls).toBe(2);
  });

  test("metrics count results per controller", async () => {
    const metrics = new MetricsRegistry();
    const c = new Controller({ name: "las", metrics, reconcile: async () => undefined });
    await c.processKey("las");
    expect(metrics.render()).toContain('scone_controller_reconcile_total{controller="las",result="success"} 1');
  });

  test("request keys round-trip for namespaced and cluster-scoped objects", () => {
    expect(parseRequestKey("ns/name")).toEqual({ namespace: "ns", name: "name" });
    expect(parseRequestKey("las")).toEqual({ name: "las" });
  });
});
