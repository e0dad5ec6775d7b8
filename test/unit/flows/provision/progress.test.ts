// How `scone cas provision` shows its steps: one line per finished step (the plain, non-terminal format, also what a
// terminal keeps after the spinner), with outcome mark, detail and elapsed time.
import { describe, expect, test } from "bun:test";
import { stepLine } from "../../../../src/cli/run/cas-provision.ts";

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
