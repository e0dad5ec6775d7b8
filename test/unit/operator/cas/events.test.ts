import { describe, expect, test } from "bun:test";
import { transitionEvents } from "../../../../src/operator/cas/events.ts";
import type { CASStatus } from "../../../../src/resources/cas.ts";

const status = (over: Partial<CASStatus>, conditions: [string, "True" | "False", string][] = []): CASStatus => ({
  state: "HEALTHY",
  phase: "HEALTHY",
  provisioned: "Yes",
  attestable: "Yes",
  desiredNumMigratableNodes: 3,
  numMigratableNodes: 3,
  migrationNodeRatio: "3/3",
  podDisruptionBudgetAlert: 0,
  conditions: conditions.map(([type, s, reason]) => ({
    type,
    status: s,
    reason,
    message: `${type} ${reason}`,
    lastTransitionTime: "2026-01-01T00:00:00Z",
  })),
  ...over,
});

const reasons = (before: CASStatus | undefined, after: CASStatus) =>
  transitionEvents("cas", before, after).map((e) => `${e.type}/${e.reason}`);

describe("transitionEvents", () => {
  test("HEALTHY ↔ UNHEALTHY with the reason, once per transition", () => {
    const healthy = status({});
    const down = status({ state: "UNHEALTHY" }, [
      ["Degraded", "True", "CASUnreachable"],
      ["CASReachable", "False", "NotAnswering"],
    ]);
    expect(reasons(healthy, down)).toEqual(["Warning/Unhealthy", "Warning/CASUnreachable"]);
    expect(transitionEvents("cas", healthy, down)[0]?.message).toBe("CAS cas is UNHEALTHY: Degraded CASUnreachable");
    expect(reasons(down, down)).toEqual([]);
    expect(reasons(down, healthy)).toEqual(["Normal/Healthy"]);
  });

  test("provisioning, attestation failure, refused changes, node loss, upgrades held back or forced", () => {
    const before = status({ provisioned: "No", state: "PENDING" });
    expect(reasons(before, status({ state: "PENDING" }))).toEqual(["Normal/Provisioned"]);
    const failing = status({ state: "PENDING" }, [
      ["Attested", "False", "AttestationFailed"],
      ["SpecApplied", "False", "ImmutableField"],
      ["NodeHealthy", "False", "NoEligibleNode"],
      ["UpgradeBlocked", "True", "MigrationIncomplete"],
    ]);
    expect(reasons(status({ state: "PENDING" }), failing)).toEqual([
      "Warning/AttestationFailed",
      "Warning/ImmutableField",
      "Warning/NoEligibleNode",
      "Warning/UpgradeBlocked",
    ]);
    const relocating = status({ state: "PENDING" }, [["NodeHealthy", "False", "Relocating"]]);
    expect(reasons(failing, relocating)).toEqual(["Warning/Relocating"]);
    const forced = status({}, [["UpgradeBlocked", "False", "UpgradeForced"]]);
    expect(reasons(status({}), forced)).toEqual(["Warning/UpgradeForced"]);
    expect(reasons(forced, forced)).toEqual([]);
  });
});
