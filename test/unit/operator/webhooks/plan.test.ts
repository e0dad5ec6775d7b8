// The webhooks' pure decisions: when to check the certificate again, readiness, which missing configurations to
// warn about, and where to listen.
import { describe, expect, test } from "bun:test";
import {
  bindHostname,
  DEFAULT_RECHECK_MS,
  missingConfigurations,
  nextCheckMs,
  RETRY_MAX_MS,
  RETRY_MIN_MS,
  webhooksReadiness,
} from "../../../../src/operator/webhooks/plan.ts";

const NOW = new Date("2026-01-01T12:00:00Z");
const inMs = (ms: number) => new Date(NOW.getTime() + ms);

describe("nextCheckMs", () => {
  test("after a success: the re-check period, or the renewal time when that is sooner, never under a second", () => {
    const ok = { lastError: undefined, failures: 0 };
    expect(nextCheckMs({ ...ok, renewAt: inMs(3_600_000) }, NOW)).toBe(DEFAULT_RECHECK_MS);
    expect(nextCheckMs({ ...ok, renewAt: inMs(3_600_000) }, NOW, 5_000)).toBe(5_000);
    expect(nextCheckMs({ ...ok, renewAt: inMs(30_000) }, NOW)).toBe(30_000);
    expect(nextCheckMs({ ...ok, renewAt: inMs(-60_000) }, NOW)).toBe(1000);
  });

  test("after failures: doubling from RETRY_MIN_MS, capped at RETRY_MAX_MS", () => {
    const failed = (failures: number) => nextCheckMs({ lastError: "refused", failures, renewAt: undefined }, NOW);
    expect([1, 2, 3].map(failed)).toEqual([RETRY_MIN_MS, 2 * RETRY_MIN_MS, 4 * RETRY_MIN_MS]);
    expect(failed(50)).toBe(RETRY_MAX_MS);
  });
});

describe("webhooksReadiness", () => {
  test("not listening: not ready with the last error (or that it has not served yet)", () => {
    expect(webhooksReadiness({ listening: false, lastError: "forbidden", servingNotAfterMs: 0 }, NOW)).toEqual({
      ok: false,
      reason: "forbidden",
    });
    expect(webhooksReadiness({ listening: false, lastError: undefined, servingNotAfterMs: 0 }, NOW).reason).toBe(
      "not serving yet",
    );
  });

  test("listening: ready until the served certificate expires", () => {
    const s = { listening: true, lastError: undefined, servingNotAfterMs: inMs(1).getTime() };
    expect(webhooksReadiness(s, NOW)).toEqual({ ok: true });
    expect(webhooksReadiness(s, inMs(1))).toEqual({ ok: false, reason: "serving certificate expired" });
  });
});

describe("missingConfigurations", () => {
  test("warns once per new set of missing configurations, not again for the same set, never for none", () => {
    const first = missingConfigurations(["a", "b"], "");
    expect(first).toEqual({ key: "a,b", warn: true });
    expect(missingConfigurations(["a", "b"], first.key).warn).toBe(false);
    expect(missingConfigurations(["a"], first.key).warn).toBe(true);
    expect(missingConfigurations([], "a")).toEqual({ key: "", warn: false });
  });
});

describe("bindHostname", () => {
  test("the host given; else loopback for a local operator, every address in a pod", () => {
    expect(bindHostname({ mode: "url", host: "192.0.2.1" })).toBe("192.0.2.1");
    expect(bindHostname({ mode: "url" })).toBe("127.0.0.1");
    expect(bindHostname({ mode: "service" })).toBe("0.0.0.0");
  });
});
