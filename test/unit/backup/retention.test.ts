import { describe, expect, test } from "bun:test";
import { BackupInputError } from "../../../src/backup/errors.ts";
import { applyRetention } from "../../../src/backup/retention.ts";
import { NOW, record } from "../../harness/backup-fixtures.ts";

const DAY = 86_400_000;
const ids = (decisions: { record: { id: string } }[]) => decisions.map((d) => d.record.id).sort();

/** Completed backups of prod/cas, one a day, `c0` the newest. */
const daily = Array.from({ length: 6 }, (_, i) => record({ id: `c${i}`, startedAt: NOW - i * DAY - 60_000 }));

describe("applyRetention", () => {
  test("keepDays removes completed backups that finished before the window", () => {
    const plan = applyRetention(daily, { keepDays: 2 }, NOW);
    expect(ids(plan.keep)).toEqual(["c0", "c1"]);
    expect(ids(plan.remove)).toEqual(["c2", "c3", "c4", "c5"]);
    expect(plan.remove[0]?.reason).toBe("older than 2 days");
  });

  test("keepLast keeps the N newest completed", () => {
    const plan = applyRetention(daily, { keepLast: 3 }, NOW);
    expect(ids(plan.keep)).toEqual(["c0", "c1", "c2"]);
    expect(ids(plan.remove)).toEqual(["c3", "c4", "c5"]);
  });

  test("with both rules a backup is kept when either keeps it", () => {
    expect(ids(applyRetention(daily, { keepDays: 4, keepLast: 2 }, NOW).keep)).toEqual(["c0", "c1", "c2", "c3"]);
    expect(ids(applyRetention(daily, { keepDays: 1, keepLast: 3 }, NOW).keep)).toEqual(["c0", "c1", "c2"]);
  });

  test("the newest completed backup is kept however old: it is the restore point", () => {
    const old = [
      record({ id: "old-1", startedAt: NOW - 40 * DAY }),
      record({ id: "old-2", startedAt: NOW - 50 * DAY }),
    ];
    const plan = applyRetention(old, { keepDays: 7 }, NOW);
    expect(ids(plan.keep)).toEqual(["old-1"]);
    expect(plan.keep[0]?.reason).toBe("newest completed backup (restore point)");
    expect(ids(plan.remove)).toEqual(["old-2"]);
  });

  test("failed backups: kept after the newest completed or within the window, removed otherwise", () => {
    const catalog = [
      ...daily.slice(0, 3),
      record({ id: "f-after", phase: "failed", startedAt: NOW - 1000, error: "disk full" }),
      record({ id: "f-recent", phase: "failed", startedAt: NOW - DAY / 2 }),
      record({ id: "f-old", phase: "failed", startedAt: NOW - 3 * DAY }),
    ];
    const plan = applyRetention(catalog, { keepDays: 1, keepLast: 3 }, NOW);
    expect(ids(plan.keep)).toEqual(["c0", "c1", "c2", "f-after", "f-recent"]);
    expect(ids(plan.remove)).toEqual(["f-old"]);
    expect(plan.remove[0]?.reason).toBe("failed, not among the 3 newest and older than 1 days");
  });

  test("pending and running backups are never removed; CASes are judged separately", () => {
    const catalog = [
      record({ id: "r-old", phase: "running", startedAt: NOW - 30 * DAY }),
      record({ id: "p-old", phase: "pending", startedAt: NOW - 30 * DAY }),
      record({ id: "dev-1", namespace: "dev", startedAt: NOW - 9 * DAY }),
      record({ id: "dev-2", namespace: "dev", startedAt: NOW - 10 * DAY }),
      record({ id: "prod-1", startedAt: NOW - 9 * DAY }),
    ];
    const plan = applyRetention(catalog, { keepLast: 1 }, NOW);
    expect(ids(plan.keep)).toEqual(["dev-1", "p-old", "prod-1", "r-old"]);
    expect(ids(plan.remove)).toEqual(["dev-2"]);
  });

  test("a policy without rules or with nonsense values is refused naming the field", () => {
    expect(() => applyRetention(daily, {}, NOW)).toThrow("retention needs keepDays or keepLast (or both)");
    expect(() => applyRetention(daily, { keepDays: 0 }, NOW)).toThrow(BackupInputError);
    expect(() => applyRetention(daily, { keepLast: 1.5 }, NOW)).toThrow("keepLast must be a whole number");
    expect(() => applyRetention(daily, { keepDays: Number.NaN }, NOW)).toThrow("keepDays must be a positive number");
  });
});
