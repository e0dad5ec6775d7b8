// How `scone cas provision` shows its steps: one line per finished step (the plain, non-terminal format, also what a
// terminal keeps after the spinner), with outcome mark, detail and elapsed time.
import { describe, expect, test } from "bun:test";
import { stepLine, terminalProgress } from "../../../../src/cli/run/cas-provision.ts";

describe("step lines", () => {
  const base = { name: "create-cas", title: "Create the unprovisioned CAS", startedAt: "2026-01-01T00:00:00.000Z" };
  test("done, skipped and failed steps", () => {
    expect(stepLine({ ...base, outcome: "done", detail: "created CAS ns/cas", elapsedMs: 1234 })).toBe(
      "✓ Create the unprovisioned CAS: created CAS ns/cas (1.2s)",
    );
    expect(stepLine({ ...base, outcome: "skipped", detail: "CAS ns/cas exists", elapsedMs: 12 })).toBe(
      "· Create the unprovisioned CAS: CAS ns/cas exists (skipped, 0.0s)",
    );
    expect(stepLine({ ...base, outcome: "failed", detail: "forbidden", elapsedMs: 50 })).toBe(
      "✗ Create the unprovisioned CAS: forbidden (0.1s)",
    );
    expect(stepLine({ ...base, outcome: "done", elapsedMs: 0 })).toBe("✓ Create the unprovisioned CAS (0.0s)");
  });
});

describe("terminal progress", () => {
  test("a spinner with the title and elapsed time, replaced by the step line; warnings go above it", () => {
    const written: string[] = [];
    const sink = terminalProgress({ write: (t: string) => written.push(t) });
    sink.start({ name: "cas-pod", title: "Wait for the CAS pod" });
    const drawn = written.at(-1) ?? "";
    expect(drawn.startsWith("\r\x1b[2K")).toBe(true);
    expect(drawn.slice(5)).toMatch(/^. Wait for the CAS pod \d+\.\ds$/);
    sink.warn("something to know");
    expect(written.at(-1)).toBe("\r\x1b[2Kwarning: something to know\n");
    sink.finish({
      name: "cas-pod",
      title: "Wait for the CAS pod",
      outcome: "done",
      startedAt: "2026-01-01T00:00:00.000Z",
      elapsedMs: 2500,
    });
    expect(written.slice(-2)).toEqual(["\r\x1b[2K", "✓ Wait for the CAS pod (2.5s)\n"]);
    sink.stop();
  });
});
