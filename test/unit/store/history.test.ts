import { afterEach, describe, expect, test } from "bun:test";
import { listHistory, type NewReconcileRecord, pruneHistory, recordReconcile } from "../../../src/store/history.ts";
import { cleanupTempStores, tempStore } from "./temp-store.ts";

afterEach(cleanupTempStores);

function run(name: string, startedAt: number, over: Partial<NewReconcileRecord> = {}): NewReconcileRecord {
  return {
    kind: "CAS",
    namespace: "prod",
    name,
    generation: 1,
    startedAt,
    durationMs: 12,
    result: "success",
    actions: [`apply StatefulSet prod/${name}`],
    trigger: "watch",
    ...over,
  };
}

describe("reconcile history", () => {
  test("lists newest first, whatever the insert order, with typed JSON actions", () => {
    const store = tempStore();
    for (const t of [300, 100, 500, 200, 400]) recordReconcile(store.db, run("a", t));
    const rows = listHistory(store.db, { kind: "CAS", namespace: "prod", name: "a", limit: 10 });
    expect(rows.map((r) => r.startedAt)).toEqual([500, 400, 300, 200, 100]);
    expect(rows[0]?.actions).toEqual(["apply StatefulSet prod/a"]);
  });

  test("filters by kind, namespace and name", () => {
    const store = tempStore();
    recordReconcile(store.db, run("a", 1));
    recordReconcile(store.db, run("b", 2));
    recordReconcile(store.db, run("a", 3, { kind: "LAS" }));
    recordReconcile(store.db, run("a", 4, { namespace: "dev" }));
    const names = (q: Parameters<typeof listHistory>[1]) =>
      listHistory(store.db, q).map((r) => `${r.kind}/${r.namespace}/${r.name}`);
    expect(names({ kind: "CAS", namespace: "prod", name: "a", limit: 10 })).toEqual(["CAS/prod/a"]);
    expect(names({ kind: "CAS", limit: 10 })).toEqual(["CAS/dev/a", "CAS/prod/b", "CAS/prod/a"]);
    expect(names({ name: "a", limit: 10 })).toEqual(["CAS/dev/a", "LAS/prod/a", "CAS/prod/a"]);
  });

  test("pages with a cursor never skip rows that started in the same millisecond", () => {
    const store = tempStore();
    const ids = [10, 20, 20, 20, 30].map((t) => recordReconcile(store.db, run("a", t)));
    const first = listHistory(store.db, { limit: 2 });
    const last = first.at(-1);
    if (!last) throw new Error("empty page");
    const second = listHistory(store.db, { limit: 10, before: { startedAt: last.startedAt, id: last.id } });
    expect([...first, ...second].map((r) => r.id)).toEqual([...ids].reverse());
    expect(listHistory(store.db, { limit: 10, before: 20 }).map((r) => r.startedAt)).toEqual([10]);
  });

  test("error results keep their message and prune drops old rows only", () => {
    const store = tempStore();
    recordReconcile(store.db, run("a", 1, { result: "error", error: "apply failed: 409 conflict" }));
    recordReconcile(store.db, run("a", 100));
    expect(listHistory(store.db, { limit: 10 }).at(-1)).toMatchObject({
      result: "error",
      error: "apply failed: 409 conflict",
    });
    expect(pruneHistory(store.db, 50)).toBe(1);
    expect(listHistory(store.db, { limit: 10 }).map((r) => r.startedAt)).toEqual([100]);
  });
});
