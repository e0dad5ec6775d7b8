import { describe, expect, test } from "bun:test";
import { setCondition, setConditions } from "../../../src/runtime/conditions.ts";
import { APPLIED_HASH_ANNOTATION, isSubset, isUpToDate, withAppliedHash } from "../../../src/runtime/drift.ts";

describe("conditions", () => {
  test("transition time changes only with the status; observedGeneration follows the object", () => {
    const t1 = new Date("2026-01-01T00:00:00.123Z");
    const t2 = new Date("2026-01-01T01:00:00Z");
    let c = setCondition([], { type: "Ready", status: "False", reason: "Progressing" }, 1, t1);
    expect(c[0]?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    c = setCondition(c, { type: "Ready", status: "False", reason: "StillProgressing", message: "m" }, 2, t2);
    expect(c[0]).toMatchObject({
      reason: "StillProgressing",
      lastTransitionTime: "2026-01-01T00:00:00Z",
      observedGeneration: 2,
    });
    c = setConditions(
      c,
      [
        { type: "Ready", status: "True", reason: "Healthy" },
        { type: "Degraded", status: "False", reason: "Ok" },
      ],
      2,
      t2,
    );
    expect(c.map((x) => [x.type, x.status, x.lastTransitionTime])).toEqual([
      ["Ready", "True", "2026-01-01T01:00:00Z"],
      ["Degraded", "False", "2026-01-01T01:00:00Z"],
    ]);
  });
});

describe("drift detection", () => {
  const desired = withAppliedHash({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "las", namespace: "scone-system", labels: { a: "b" } },
    spec: {
      template: {
        spec: { containers: [{ name: "las", image: "las:1", ports: [{ hostPort: 18766 }] }], tolerations: [] },
      },
    },
  });

  test("an observed object with server defaults and status is up to date", () => {
    const observed = structuredClone(desired);
    const spec: Record<string, unknown> = observed.spec.template.spec;
    spec.restartPolicy = "Always";
    delete spec.tolerations;
    Object.assign(observed, { status: { numberReady: 1 } });
    expect(isUpToDate(desired, observed)).toBe(true);
  });

  test("a changed field, a missing hash or another hash means apply", () => {
    const changed = structuredClone(desired);
    changed.spec.template.spec.containers[0]!.image = "las:2";
    expect(isUpToDate(desired, changed)).toBe(false);
    const noHash = structuredClone(desired);
    delete noHash.metadata.annotations[APPLIED_HASH_ANNOTATION];
    expect(isUpToDate(desired, noHash)).toBe(false);
    const other = withAppliedHash({ ...desired, metadata: { ...desired.metadata, labels: {} } });
    expect(isUpToDate(other, desired)).toBe(false);
    expect(isUpToDate(desired, undefined)).toBe(false);
  });

  test("numbers equal their string forms; list lengths must match", () => {
    expect(isSubset({ a: 1 }, { a: "1" })).toBe(true);
    expect(isSubset({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(isSubset({ a: { b: 1 } }, { a: { b: 2 } })).toBe(false);
  });
});
