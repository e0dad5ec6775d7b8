import { afterEach, describe, expect, test } from "bun:test";
import {
  type CatalogEntry,
  createBackup,
  deleteBackup,
  getBackup,
  lastCompletedBackup,
  listBackups,
  syncCatalog,
  updateBackup,
} from "../../../src/store/backups.ts";
import { StoreConflictError, StoreInputError, StoreNotFoundError } from "../../../src/store/errors.ts";
import { cleanupTempStores, tempStore } from "./temp-store.ts";

afterEach(cleanupTempStores);

const cas = { namespace: "prod", name: "cas" };

describe("backup catalog", () => {
  test("a backup goes pending → running → completed with files and markers", () => {
    const store = tempStore();
    const created = createBackup(store.db, { ...cas, target: "s3://bucket/cas", startedAt: 1_700_000_000_000 });
    expect(created).toMatchObject({ phase: "pending", method: "snapshot-copy", files: {}, stoppedAt: null });
    expect(created.id).toMatch(/^bk-20231114t221320z-[a-z2-7]{8}$/);
    updateBackup(store.db, created.id, { phase: "running", snapshotMarker: "snap-42" });
    const files = { "cas.db": { sha256: "ab".repeat(32), size: 4096 } };
    const done = updateBackup(store.db, created.id, { phase: "completed", files, sizeBytes: 4096, stoppedAt: 5 });
    expect(done).toMatchObject({ phase: "completed", files, sizeBytes: 4096, stoppedAt: 5, snapshotMarker: "snap-42" });
    expect(getBackup(store.db, created.id)).toEqual(done);
  });

  test("finished backups are final; a failed one gets a stop time", () => {
    const store = tempStore();
    const b = createBackup(store.db, { ...cas, target: "/backups", phase: "running" });
    const failed = updateBackup(store.db, b.id, { phase: "failed", error: "disk full" });
    expect(failed.stoppedAt).not.toBeNull();
    expect(() => updateBackup(store.db, b.id, { phase: "completed" })).toThrow(StoreConflictError);
    expect(() => updateBackup(store.db, "bk-none", { phase: "running" })).toThrow(StoreNotFoundError);
    expect(() => createBackup(store.db, { ...cas, target: " " })).toThrow(StoreInputError);
  });

  test("lists newest first per CAS and finds the last completed backup", () => {
    const store = tempStore();
    const ids = [10, 20, 30].map(
      (t) => createBackup(store.db, { ...cas, target: "/b", startedAt: t, phase: "running" }).id,
    );
    createBackup(store.db, { namespace: "prod", name: "other", target: "/b", startedAt: 40 });
    updateBackup(store.db, ids[0] as string, { phase: "completed" });
    updateBackup(store.db, ids[1] as string, { phase: "completed" });
    updateBackup(store.db, ids[2] as string, { phase: "failed" });
    expect(listBackups(store.db, { ...cas, limit: 10 }).map((b) => b.id)).toEqual([...ids].reverse());
    expect(lastCompletedBackup(store.db, cas)?.id).toBe(ids[1] as string);
    expect(deleteBackup(store.db, ids[1] as string)).toBe(true);
    expect(deleteBackup(store.db, ids[1] as string)).toBe(false);
    expect(lastCompletedBackup(store.db, cas)?.id).toBe(ids[0] as string);
  });
});

describe("syncCatalog: the catalog made to agree with a target's listing", () => {
  const entry = (id: string, stoppedAt: number): CatalogEntry => ({
    id,
    ...cas,
    phase: "completed",
    method: "snapshot-copy",
    target: `/t/prod/cas/${id}`,
    startedAt: stoppedAt - 1000,
    stoppedAt,
    sizeBytes: 3,
    files: { "cas.db": { sha256: "ab".repeat(32), size: 3 } },
    snapshotMarker: "snap",
    error: null,
  });
  const inTarget = (row: { target: string }) => row.target.startsWith("/t/");

  test("adds listed sets, removes this target's completed rows the listing lacks, keeps everything else", () => {
    const store = tempStore();
    const gone = createBackup(store.db, { ...cas, target: "/t/prod/cas/bk-gone", phase: "running", id: "bk-gone" });
    updateBackup(store.db, gone.id, { phase: "completed", stoppedAt: 1000 });
    const other = createBackup(store.db, { ...cas, target: "/u/prod/cas/bk-u", phase: "running", id: "bk-u" });
    updateBackup(store.db, other.id, { phase: "completed", stoppedAt: 1000 });
    const failed = createBackup(store.db, { ...cas, target: "/t/prod/cas/bk-f", phase: "running", id: "bk-f" });
    updateBackup(store.db, failed.id, { phase: "failed", stoppedAt: 1000 });
    const sync = syncCatalog(store.db, [entry("bk-a", 2000)], inTarget, 5000);
    expect(sync).toEqual({ added: ["bk-a"], removed: ["bk-gone"] });
    expect(getBackup(store.db, "bk-a")).toEqual(entry("bk-a", 2000));
    expect(
      listBackups(store.db, { limit: 10 })
        .map((r) => r.id)
        .sort(),
    ).toEqual(["bk-a", "bk-f", "bk-u"]);
    // Listed again: nothing added, nothing removed; an existing row is not overwritten.
    expect(syncCatalog(store.db, [{ ...entry("bk-a", 2000), sizeBytes: 99 }], inTarget, 6000)).toEqual({
      added: [],
      removed: [],
    });
    expect(getBackup(store.db, "bk-a")?.sizeBytes).toBe(3);
  });

  test("a backup completed after the listing began is not removed for missing from it", () => {
    const store = tempStore();
    const late = createBackup(store.db, { ...cas, target: "/t/prod/cas/bk-late", phase: "running", id: "bk-late" });
    updateBackup(store.db, late.id, { phase: "completed", stoppedAt: 7000 });
    expect(syncCatalog(store.db, [], inTarget, 5000).removed).toEqual([]);
    expect(syncCatalog(store.db, [], inTarget, 8000).removed).toEqual(["bk-late"]);
  });
});
