import { describe, expect, test } from "bun:test";
import { backupDue, scheduleOf } from "../../../src/backup/schedule.ts";
import { NOW, record } from "./fixtures.ts";

const cas = { namespace: "prod", name: "cas" };
const HOUR = 3_600_000;
const schedule = scheduleOf({ interval: 4 * 3600, retention: 7 });

describe("scheduled backups", () => {
  test("spec.backup maps to an interval, a retry delay and keepDays; upstream defaults when absent", () => {
    expect(schedule).toEqual({ intervalMs: 4 * HOUR, retryAfterMs: 300_000, retention: { keepDays: 7 } });
    expect(scheduleOf(undefined)).toEqual({ intervalMs: 4 * HOUR, retryAfterMs: 300_000, retention: { keepDays: 10 } });
    expect(scheduleOf({ interval: 60 }).retryAfterMs).toBe(60_000);
  });

  test("due at once without any backup of this CAS", () => {
    const other = record({ id: "o", name: "other", startedAt: NOW - 1000 });
    expect(backupDue([other], cas, schedule, NOW)).toEqual({ due: true, at: NOW, reason: "no backup yet" });
  });

  test("due one interval after the last completed backup started", () => {
    const last = record({ id: "c1", startedAt: NOW - 3 * HOUR });
    expect(backupDue([last], cas, schedule, NOW)).toMatchObject({ due: false, at: NOW + HOUR });
    expect(backupDue([last], cas, schedule, NOW + HOUR)).toMatchObject({ due: true, at: NOW + HOUR });
  });

  test("a failure is retried after the retry delay, not a whole interval later", () => {
    const catalog = [
      record({ id: "c1", startedAt: NOW - HOUR }),
      record({ id: "f1", phase: "failed", startedAt: NOW - 120_000, stoppedAt: NOW - 60_000 }),
    ];
    expect(backupDue(catalog, cas, schedule, NOW)).toMatchObject({ due: false, at: NOW + 240_000 });
    expect(backupDue(catalog, cas, schedule, NOW + 240_000)).toMatchObject({
      due: true,
      reason: "retrying after the failed backup f1",
    });
  });

  test("never due while a backup of the CAS is pending or running, unless that one was abandoned", () => {
    const abandoned = record({ id: "r0", phase: "running", startedAt: NOW - 10 * HOUR });
    expect(backupDue([abandoned], cas, schedule, NOW)).toMatchObject({ due: true });
    const running = record({ id: "r1", phase: "running", startedAt: NOW - 60_000 });
    expect(backupDue([running], cas, schedule, NOW)).toEqual({
      due: false,
      at: NOW + 300_000,
      reason: "backup r1 is running",
    });
  });
});
