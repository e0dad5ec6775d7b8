// Reading the history ConfigMaps (src/operator/reconcile-history/read.ts): the namespace is where the ConfigMap
// lives, not what its data claims; filters, order and limit as `scone operator history` applies them.
import { describe, expect, test } from "bun:test";
import { historyRows, recordOfConfigMap } from "../../../../src/operator/reconcile-history/read.ts";
import { encodeRecord, HISTORY_KEY, type HistoryRecord } from "../../../../src/operator/reconcile-history/record.ts";

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const cm = (namespace: string, r: HistoryRecord, kindLabel = r.kind) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "x", namespace, labels: { "scone.cloud/history-kind": kindLabel } },
  data: { [HISTORY_KEY]: encodeRecord(r) },
});
const entry = (i: number, extra = {}) => ({
  startedAt: T0 + i,
  durationMs: 1,
  result: "success" as const,
  actions: [],
  ...extra,
});

describe("reading the cluster history", () => {
  test("the namespace comes from the ConfigMap (a forged one in the data is ignored); cluster kinds have none", () => {
    const forged = recordOfConfigMap(
      cm("tenant", { kind: "CAS", namespace: "prod", name: "cas", entries: [entry(1)] }),
    );
    expect(forged?.namespace).toBe("tenant");
    const las = recordOfConfigMap(cm("scone-system", { kind: "LAS", namespace: "x", name: "las", entries: [] }));
    expect(las?.namespace).toBe("");
    expect(recordOfConfigMap(cm("a", { kind: "Pod", namespace: "a", name: "p", entries: [] }))).toBeUndefined();
    expect(
      recordOfConfigMap(cm("a", { kind: "CAS", namespace: "a", name: "c", entries: [] }, "Vault")),
    ).toBeUndefined();
  });

  test("rows newest first (a folded entry by its last repeat), filtered by kind, name and namespace, limited", () => {
    const records: HistoryRecord[] = [
      { kind: "CAS", namespace: "a", name: "c1", entries: [entry(5), entry(1)] },
      { kind: "CAS", namespace: "b", name: "c1", entries: [entry(4, { repeats: 3, lastAt: T0 + 9 })] },
      { kind: "LAS", namespace: "", name: "las", entries: [entry(7)] },
    ];
    const all = historyRows(records, { limit: 10 });
    expect(all.map((r) => `${r.kind}/${r.namespace}/${r.name}@${r.startedAt - T0}`)).toEqual([
      "CAS/b/c1@4",
      "LAS//las@7",
      "CAS/a/c1@5",
      "CAS/a/c1@1",
    ]);
    expect(all[0]).toMatchObject({ repeats: 3, trigger: "operator", error: null });
    expect(historyRows(records, { kind: "CAS", namespace: "a", limit: 10 }).map((r) => r.namespace)).toEqual([
      "a",
      "a",
    ]);
    expect(historyRows(records, { kind: "CAS", name: "c1", limit: 1 })).toHaveLength(1);
    expect(historyRows(records, { kind: "LAS", namespace: "a", limit: 10 }).map((r) => r.name)).toEqual(["las"]);
  });
});
