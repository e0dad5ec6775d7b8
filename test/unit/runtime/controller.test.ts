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
    let inFlight = 0;
    let maxInFlightSameKey = 0;
    let calls = 0;
    const c = new Controller({
      name: "t",
      workers: 4,
      reconcile: async () => {
        inFlight++;
        maxInFlightSameKey = Math.max(maxInFlightSameKey, inFlight);
        calls++;
        await Bun.sleep(5);
        inFlight--;
        return undefined;
      },
    });
    c.start();
    for (let i = 0; i < 10; i++) {
      c.enqueue({ namespace: "ns", name: "same" });
      await Bun.sleep(1);
    }
    await Bun.sleep(30);
    await c.stop();
    expect(maxInFlightSameKey).toBe(1);
    expect(inFlight).toBe(0);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(10);
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
