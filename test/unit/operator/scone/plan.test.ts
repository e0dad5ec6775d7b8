import { describe, expect, test } from "bun:test";
import type { V1Deployment } from "@kubernetes/client-node";
import {
  decideScone,
  deployEvent,
  phaseChangeEvent,
  planFailure,
  planPlacement,
  requeueAfterDeploy,
  stackBackupFacts,
  stackComponents,
  uninstalledMessage,
} from "../../../../src/operator/scone/plan.ts";
import { specHash } from "../../../../src/operator/scone/render.ts";
import type { Scone, SconeStatus } from "../../../../src/resources/scone.ts";

const NOW = new Date("2026-01-01T12:00:00Z");
const retry = { maxRetries: 3, retryBaseMs: 1_000, now: NOW };
const scone = (
  status?: SconeStatus,
  meta: Partial<Scone["metadata"]> = {},
  spec: Partial<NonNullable<Scone["spec"]>> = {},
): Scone => ({
  apiVersion: "confidential.security.osc.t-systems.com/v1alpha1",
  kind: "Scone",
  metadata: { name: "stack", uid: "u-1", generation: 2, ...meta },
  spec: { serviceVersion: "6.0.6", ...spec },
  ...(status ? { status } : {}),
});
const deployed = (s: Scone): SconeStatus => ({ phase: "Running", observedGeneration: 2, deployedSpec: specHash(s) });

describe("decideScone", () => {
  test("a deleted Scone is finalized, before any other rule", () => {
    const s = scone(undefined, { deletionTimestamp: new Date() as never });
    expect(decideScone(s, "other", "Unmanaged", retry)).toEqual({ kind: "finalize" });
  });

  test("a Scone that is not the primary is refused, naming the primary", () => {
    expect(decideScone(scone(), "first", "Managed", retry)).toEqual({
      kind: "refuse",
      message: "Scone first is this cluster's stack; a second Scone is not reconciled",
    });
  });

  test("Unmanaged changes nothing", () => {
    expect(decideScone(scone(), "stack", "Unmanaged", retry)).toEqual({ kind: "unmanaged" });
  });

  test("a new Scone deploys, working in Creating", () => {
    expect(decideScone(scone(), "stack", "Managed", retry)).toEqual({
      kind: "deploy",
      phase: "Empty",
      working: "Creating",
    });
  });

  test("a deployed, unchanged Scone deploys again in its phase (no event)", () => {
    const s = scone();
    const d = scone(deployed(s));
    expect(deployEvent(d)).toBeUndefined();
    expect(decideScone(d, "stack", "Managed", retry)).toEqual({
      kind: "deploy",
      phase: "Running",
      working: "Running",
    });
  });

  test("a changed spec of a deployed Scone is a specChanged", () => {
    const d = scone({ ...deployed(scone()), deployedSpec: "old" });
    expect(deployEvent(d)).toBe("specChanged");
    expect(decideScone(d, "stack", "Managed", retry)).toMatchObject({ kind: "deploy", working: "Updating" });
  });

  test("in Error, unchanged: stopped after the last allowed failure", () => {
    const s = scone({ phase: "Error", observedGeneration: 2, retryCount: 3 });
    expect(decideScone(s, "stack", "Managed", retry)).toEqual({ kind: "stopped" });
  });

  test("in Error, unchanged: keeps the backoff since the last failure, then retries", () => {
    const failedAt = new Date(NOW.getTime() - 500).toISOString();
    const s = scone({ phase: "Error", observedGeneration: 2, retryCount: 1, lastUpdate: failedAt });
    expect(decideScone(s, "stack", "Managed", retry)).toEqual({ kind: "backoff", waitMs: 500 });
    const later = { ...retry, now: new Date(NOW.getTime() + 1_000) };
    expect(deployEvent(s)).toBe("retry");
    expect(decideScone(s, "stack", "Managed", later)).toMatchObject({ kind: "deploy", phase: "Error" });
  });

  test("in Error, a changed resource deploys at once even after the last failure", () => {
    const s = scone({ phase: "Error", observedGeneration: 1, retryCount: 3, lastUpdate: NOW.toISOString() });
    expect(deployEvent(s)).toBe("specChanged");
    expect(decideScone(s, "stack", "Managed", retry)).toMatchObject({ kind: "deploy", working: "Repairing" });
  });
});

describe("stackComponents", () => {
  const found = {
    plugin: { status: { state: "HEALTHY" } },
    cas: { status: { state: "PENDING", phase: "Unprovisioned" } },
  };

  test("missing components are absent; the CAS is informational with its phase", () => {
    expect(stackComponents(found, "ns/cas", false)).toEqual([
      { name: "SGXPlugin", state: "HEALTHY" },
      { name: "LAS", state: "absent" },
      { name: "CAS ns/cas", state: "PENDING", detail: "Unprovisioned", informational: true },
    ]);
  });

  test("with skipCas a CAS still in the cache is no longer a component", () => {
    expect(stackComponents(found, "ns/cas", true).map((c) => c.name)).toEqual(["SGXPlugin", "LAS"]);
  });
});

describe("stackBackupFacts", () => {
  test("no schedule without a backup runner or with skipCas; else the interval or its default", () => {
    expect(stackBackupFacts(scone(), false).intervalSeconds).toBe(0);
    expect(stackBackupFacts(scone(undefined, {}, { skipCas: true }), true).intervalSeconds).toBe(0);
    expect(stackBackupFacts(scone(undefined, {}, { backup: { interval: 600 } }), true).intervalSeconds).toBe(600);
    expect(stackBackupFacts(scone(), true).intervalSeconds).toBe(14400);
  });
});

describe("planPlacement", () => {
  const deployment: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "scone-operator", namespace: "ns" },
    spec: { selector: {}, template: { spec: { containers: [] } } },
  };

  test("no Deployment: a selector is recorded for later, none is nothing", () => {
    const p = planPlacement({ pool: "ops" }, undefined, "ns/scone-operator");
    expect(p.placement.kind).toBe("recorded");
    expect(p.body).toBeUndefined();
    expect(requeueAfterDeploy(p.placement)).toBe(300_000);
    expect(planPlacement(undefined, undefined, "ns/scone-operator").placement).toEqual({ kind: "none" });
  });

  test("a Deployment without the selector gets an apply body and reports where it went", () => {
    const p = planPlacement({ pool: "ops" }, deployment, "ns/scone-operator");
    expect(p.placement).toEqual({ kind: "applied", deployment: "ns/scone-operator" });
    expect(p.body?.spec?.template.spec?.nodeSelector).toEqual({ pool: "ops" });
    expect(requeueAfterDeploy(p.placement)).toBeUndefined();
  });
});

describe("planFailure", () => {
  test("counts the failure and backs off", () => {
    const f = planFailure("boom", { retryCount: 1 }, retry);
    expect(f).toEqual({
      outcome: { kind: "failed", error: "boom", retryCount: 2, waiting: false },
      terminal: false,
      requeueAfterMs: 2_000,
    });
  });

  test("the last allowed failure is terminal and says it waits for a change", () => {
    const f = planFailure("boom", { retryCount: 2 }, retry);
    expect(f.terminal).toBe(true);
    expect(f.outcome.error).toBe("waiting for a change after 3 failed attempts: boom");
  });
});

describe("phaseChangeEvent", () => {
  test("none without a change of phase", () => {
    expect(phaseChangeEvent("Running", "Running", { kind: "unmanaged" })).toBeUndefined();
    expect(phaseChangeEvent(undefined, undefined, { kind: "unmanaged" })).toBeUndefined();
  });

  test("Normal on progress, Warning with the error into Error", () => {
    expect(phaseChangeEvent(undefined, "Creating", { kind: "progress", phase: "Creating" })).toEqual({
      type: "Normal",
      reason: "PhaseChanged",
      message: "Empty → Creating",
    });
    const failed = { kind: "failed", error: "x", retryCount: 1, waiting: false } as const;
    expect(phaseChangeEvent("Creating", "Error", failed)).toEqual({
      type: "Warning",
      reason: "PhaseChanged",
      message: "Creating → Error: x",
    });
  });
});

test("uninstalledMessage names what went and always what is kept", () => {
  expect(uninstalledMessage([])).toBe("removed nothing; kept: the CAS database PVCs, snapshots and the backup bucket");
  expect(uninstalledMessage(["LAS las", "CAS ns/cas"])).toStartWith("removed LAS las, CAS ns/cas; kept:");
});
