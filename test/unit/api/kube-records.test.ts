// The pure half of the ConfigMap records: a page is filtered, keyset-positioned and newest first like the SQLite
// store's; a ConfigMap whose record does not match its name or namespace (edited by hand) is skipped, not trusted.
import { describe, expect, test } from "bun:test";
import { fromObject, operationObjectName, selectOperations } from "../../../src/api/operations/kube-records.ts";
import { newOperationRecord, type OperationRecord } from "../../../src/store/operations.ts";

const op = (name: string, namespace: string, createdAt: number, phase: OperationRecord["phase"] = "pending") => ({
  ...newOperationRecord({ kind: "backup", namespace, name, createdBy: "t", now: createdAt }),
  phase,
});

describe("selectOperations", () => {
  test("filters, then newest first, then after the cursor, at most limit", () => {
    const ops = [op("a", "x", 1), op("b", "x", 3), op("c", "y", 2), op("d", "x", 4, "succeeded")];
    expect(selectOperations(ops, { limit: 10 }).map((o) => o.name)).toEqual(["d", "b", "c", "a"]);
    expect(selectOperations(ops, { limit: 10, namespaces: ["x"] }).map((o) => o.name)).toEqual(["d", "b", "a"]);
    expect(selectOperations(ops, { limit: 10, phase: "pending" }).map((o) => o.name)).toEqual(["b", "c", "a"]);
    const b = ops[1] as OperationRecord;
    expect(selectOperations(ops, { limit: 1, after: { t: b.createdAt, id: b.id } }).map((o) => o.name)).toEqual(["c"]);
  });
});

describe("fromObject", () => {
  test("reads a record back; refuses one that names another object or namespace", () => {
    const record = op("cas", "team-a", 5);
    const object = (name: string, namespace: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace },
      data: { "operation.json": JSON.stringify(record) },
    });
    expect(fromObject(object(operationObjectName(record.id), "team-a"))).toEqual(record);
    expect(fromObject(object(operationObjectName(record.id), "team-b"))).toBeUndefined();
    expect(fromObject(object("scone-operation-other", "team-a"))).toBeUndefined();
    expect(
      fromObject({ ...object(operationObjectName(record.id), "team-a"), data: { "operation.json": "{" } }),
    ).toBeUndefined();
  });
});
