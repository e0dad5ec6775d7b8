import { describe, expect, test } from "bun:test";
import {
  afterFailure,
  lastSuccessPhaseAfter,
  nextSconePhase,
  retryDelayMs,
  retryWaitMs,
  SCONE_EVENTS,
  type SconeEvent,
  waitingMessage,
} from "../../../../src/operator/scone/phase.ts";
import { SCONE_PHASES, type SconePhase } from "../../../../src/resources/scone.ts";

// Every (phase, event) pair, written out: the managed service's phases (SCONE-STACK.md) and what stays put.
const TABLE: Record<SconePhase, Record<SconeEvent, SconePhase>> = {
  Empty: { finalizerAdded: "Creating", specChanged: "Empty", retry: "Empty", succeeded: "Empty", failed: "Error" },
  Creating: {
    finalizerAdded: "Creating",
    specChanged: "Creating",
    retry: "Creating",
    succeeded: "Running",
    failed: "Error",
  },
  Running: {
    finalizerAdded: "Running",
    specChanged: "Updating",
    retry: "Running",
    succeeded: "Running",
    failed: "Error",
  },
  Updating: {
    finalizerAdded: "Updating",
    specChanged: "Updating",
    retry: "Updating",
    succeeded: "Running",
    failed: "Error",
  },
  Error: { finalizerAdded: "Error", specChanged: "Repairing", retry: "Error", succeeded: "Running", failed: "Error" },
  Repairing: {
    finalizerAdded: "Repairing",
    specChanged: "Repairing",
    retry: "Repairing",
    succeeded: "Running",
    failed: "Error",
  },
};

describe("nextSconePhase", () => {
  const cells = SCONE_PHASES.flatMap((p) => SCONE_EVENTS.map((e) => [p, e, TABLE[p][e]] as const));

  test("the table covers every phase and event", () => {
    expect(cells.length).toBe(SCONE_PHASES.length * SCONE_EVENTS.length);
    expect(Object.keys(TABLE).sort()).toEqual([...SCONE_PHASES].sort());
  });

  test.each(cells)("%s + %s → %s", (phase, event, expected) => {
    expect(nextSconePhase(phase, event)).toBe(expected);
  });

  test("the documented paths", () => {
    const walk = (start: SconePhase, events: SconeEvent[]) => {
      const seen = [start];
      for (const e of events) seen.push(nextSconePhase(seen.at(-1) as SconePhase, e));
      return seen;
    };
    expect(walk("Empty", ["finalizerAdded", "succeeded"])).toEqual(["Empty", "Creating", "Running"]);
    expect(walk("Running", ["specChanged", "succeeded"])).toEqual(["Running", "Updating", "Running"]);
    expect(walk("Updating", ["failed", "retry", "failed", "specChanged", "succeeded"])).toEqual([
      "Updating",
      "Error",
      "Error",
      "Error",
      "Repairing",
      "Running",
    ]);
  });
});

describe("lastSuccessPhaseAfter", () => {
  test("is the phase left behind, never Error", () => {
    expect(lastSuccessPhaseAfter("Creating", "Running", undefined)).toBe("Creating");
    expect(lastSuccessPhaseAfter("Running", "Updating", "Creating")).toBe("Running");
    expect(lastSuccessPhaseAfter("Updating", "Error", "Running")).toBe("Updating");
    // Leaving Error keeps the phase before it.
    expect(lastSuccessPhaseAfter("Error", "Repairing", "Updating")).toBe("Updating");
    // No change of phase, no change.
    expect(lastSuccessPhaseAfter("Running", "Running", "Updating")).toBe("Updating");
  });
});

describe("retries", () => {
  test("five failures in a row stop the retries", () => {
    const counts: boolean[] = [];
    let n: number | undefined;
    for (let i = 0; i < 5; i++) {
      const r = afterFailure(n);
      n = r.retryCount;
      counts.push(r.waiting);
    }
    expect(counts).toEqual([false, false, false, false, true]);
    expect(n).toBe(5);
    expect(afterFailure(1, 2)).toEqual({ retryCount: 2, waiting: true });
  });

  test("the delay doubles and is capped", () => {
    expect([1, 2, 3, 4].map((f) => retryDelayMs(f, 1000))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(30, 1000, 60_000)).toBe(60_000);
  });

  test("the wait counts from the last failure", () => {
    const now = new Date("2026-01-01T00:00:10Z");
    expect(retryWaitMs({ retryCount: 2, lastUpdate: "2026-01-01T00:00:09Z" }, 1000, now)).toBe(1000);
    expect(retryWaitMs({ retryCount: 1, lastUpdate: "2026-01-01T00:00:00Z" }, 1000, now)).toBe(0);
    expect(retryWaitMs({ retryCount: 0 }, 1000, now)).toBe(0);
  });

  test("the stop message names the attempts and the last error", () => {
    expect(waitingMessage("boom")).toBe("waiting for a change after 5 failed attempts: boom");
  });
});
