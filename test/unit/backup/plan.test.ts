import { describe, expect, test } from "bun:test";
import { backupSubjectOf, DEFAULT_STALE_AFTER_MS, planBackup } from "../../../src/backup/plan.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { NOW, record } from "../../harness/backup-fixtures.ts";

const cas = { namespace: "prod", name: "cas" };

describe("planBackup", () => {
  test("starts when nothing of this CAS is pending or running (other CASes do not block)", () => {
    const catalog = [
      record({ id: "bk-1", phase: "completed" }),
      record({ id: "bk-2", phase: "failed" }),
      record({ id: "bk-3", phase: "running", name: "other", startedAt: NOW - 1000 }),
      record({ id: "bk-4", phase: "running", namespace: "dev", startedAt: NOW - 1000 }),
    ];
    expect(planBackup(cas, catalog, { now: NOW })).toEqual({ action: "start", abandon: [] });
  });

  test("a fresh pending or running backup of the same CAS makes the next one wait (serialized)", () => {
    const running = record({ id: "bk-run", phase: "running", startedAt: NOW - 60_000 });
    const plan = planBackup(cas, [running], { now: NOW });
    expect(plan).toMatchObject({ action: "wait", running: { id: "bk-run" } });
    if (plan.action === "wait") expect(plan.reason).toContain("backup bk-run of CAS prod/cas is running since");
    const pending = record({ id: "bk-pend", phase: "pending", startedAt: NOW - 5 });
    expect(planBackup(cas, [pending], { now: NOW })).toMatchObject({ action: "wait", running: { id: "bk-pend" } });
  });

  test("a backup running past the stale age is abandoned, not waited for", () => {
    const stale = record({ id: "bk-old", phase: "running", startedAt: NOW - DEFAULT_STALE_AFTER_MS - 1 });
    expect(planBackup(cas, [stale], { now: NOW })).toEqual({ action: "start", abandon: [stale] });
    const young = record({ id: "bk-young", phase: "running", startedAt: NOW - 10_000 });
    expect(planBackup(cas, [young], { now: NOW, staleAfterMs: 5_000 })).toEqual({ action: "start", abandon: [young] });
    expect(planBackup(cas, [stale, young], { now: NOW })).toMatchObject({
      action: "wait",
      running: { id: "bk-young" },
    });
  });

  test("an unprovisioned CAS is refused; unknown provisioning is not", () => {
    const plan = planBackup({ ...cas, provisioned: false }, [], { now: NOW });
    expect(plan).toEqual({
      action: "refuse",
      reason: "CAS prod/cas is not provisioned: it holds no database to back up yet",
    });
    expect(planBackup({ ...cas, provisioned: true }, [], { now: NOW }).action).toBe("start");
  });

  test("the subject is read from a CAS resource's status", () => {
    const resource = {
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { namespace: "prod", name: "cas" },
      spec: {},
      status: { provisioned: "Yes", version: "6.0.6" },
    } as unknown as CAS;
    expect(backupSubjectOf(resource)).toEqual({ namespace: "prod", name: "cas", version: "6.0.6", provisioned: true });
    const fresh = { ...resource, status: { provisioned: "No", version: "unknown" } } as unknown as CAS;
    expect(backupSubjectOf(fresh)).toEqual({ namespace: "prod", name: "cas", version: null, provisioned: false });
  });
});
