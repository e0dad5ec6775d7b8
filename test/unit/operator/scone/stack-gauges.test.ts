// The stack's backup gauges the SconeStackBackupOverdue alert compares: the last completed backup as unix seconds
// (0 when none) and the interval (0 when the stack takes no backups, so the alert stays quiet).
import { describe, expect, test } from "bun:test";
import { stackMetricValues } from "../../../../src/operator/scone/status.ts";

describe("stack gauges", () => {
  test("the last backup in unix seconds and the interval; none yet is 0", () => {
    const last = new Date("2026-12-07T10:00:00.900Z");
    expect(stackMetricValues({ phase: "Running" }, { lastCompleted: last, intervalSeconds: 3600 })).toMatchObject({
      state: 1,
      lastBackupTimestamp: Math.floor(last.getTime() / 1000),
      backupInterval: 3600,
    });
    expect(stackMetricValues({ phase: "Error" }, { lastCompleted: undefined, intervalSeconds: 0 })).toMatchObject({
      state: -1,
      lastBackupTimestamp: 0,
      backupInterval: 0,
    });
  });
});
