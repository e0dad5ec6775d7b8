import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { StoreConflictError, StoreInputError, StoreNotFoundError } from "../../../src/store/errors.ts";
import { openStore } from "../../../src/store/open.ts";
import {
  completeStep,
  createOperation,
  finishOperation,
  getOperation,
  listOperations,
  listUnfinishedOperations,
  type OperationRecord,
  startStep,
  stepState,
} from "../../../src/store/operations.ts";
import { cleanupTempStores, tempDir, tempStore } from "./temp-store.ts";

afterEach(cleanupTempStores);

const newOp = { kind: "provision", namespace: "prod", name: "cas", createdBy: "cli" } as const;

describe("operations", () => {
  test("runs pending → running → succeeded, recording each step once", () => {
    const store = tempStore();
    let op = createOperation(store.db, { ...newOp, params: { version: "5.10" }, now: 1 });
    expect(op).toMatchObject({
      phase: "pending",
      version: 0,
      stepsDone: [],
      currentStep: null,
      params: { version: "5.10" },
    });
    for (const step of ["render", "apply", "wait-ready"]) {
      op = startStep(store.db, op.id, { step, version: op.version });
      expect(op).toMatchObject({ phase: "running", currentStep: step });
      op = completeStep(store.db, op.id, { step, version: op.version });
    }
    op = finishOperation(store.db, op.id, {
      phase: "succeeded",
      version: op.version,
      result: { endpoint: "cas:8081" },
    });
    expect(op).toMatchObject({
      phase: "succeeded",
      stepsDone: ["render", "apply", "wait-ready"],
      currentStep: null,
      result: { endpoint: "cas:8081" },
      version: 7,
    });
    expect(() => startStep(store.db, op.id, { step: "again", version: op.version })).toThrow(/already succeeded/);
  });

  test("after a restart, done steps are skipped and the interrupted step is reported as such", () => {
    const stateDir = join(tempDir(), "s");
    const first = openStore({ stateDir });
    let op = createOperation(first.db, newOp);
    op = startStep(first.db, op.id, { step: "snapshot", version: op.version });
    op = completeStep(first.db, op.id, { step: "snapshot", version: op.version });
    op = startStep(first.db, op.id, { step: "copy", version: op.version });
    first.close(); // the process dies here

    const second = openStore({ stateDir });
    const [resumed] = listUnfinishedOperations(second.db);
    expect(resumed?.id).toBe(op.id);
    const again = resumed as OperationRecord;
    expect(stepState(again, "snapshot")).toBe("done");
    expect(stepState(again, "copy")).toBe("interrupted");
    expect(stepState(again, "verify")).toBe("todo");
    // A done step cannot be started again; the interrupted one can be restarted, then completed.
    expect(() => startStep(second.db, again.id, { step: "snapshot", version: again.version })).toThrow(/already done/);
    let next = startStep(second.db, again.id, { step: "copy", version: again.version });
    next = completeStep(second.db, next.id, { step: "copy", version: next.version });
    expect(next.stepsDone).toEqual(["snapshot", "copy"]);
    second.close();
  });

  test("a writer holding a stale version is refused instead of overwriting", () => {
    const store = tempStore();
    const op = createOperation(store.db, newOp);
    const a = startStep(store.db, op.id, { step: "render", version: op.version });
    expect(() => startStep(store.db, op.id, { step: "render", version: op.version })).toThrow(StoreConflictError);
    expect(() => startStep(store.db, op.id, { step: "render", version: op.version })).toThrow(/version 1, expected 0/);
    expect(getOperation(store.db, op.id)?.version).toBe(a.version);
  });

  test("steps must be completed in the order they were started", () => {
    const store = tempStore();
    let op = createOperation(store.db, newOp);
    op = startStep(store.db, op.id, { step: "a", version: op.version });
    expect(() => startStep(store.db, op.id, { step: "b", version: op.version })).toThrow(/"a" is still in progress/);
    expect(() => completeStep(store.db, op.id, { step: "b", version: op.version })).toThrow(/"b" was not started/);
    expect(() => finishOperation(store.db, op.id, { phase: "succeeded", version: op.version })).toThrow(/in progress/);
    op = finishOperation(store.db, op.id, { phase: "failed", version: op.version, error: "node lost" });
    expect(op).toMatchObject({ phase: "failed", error: "node lost" });
  });

  test("lists by phase, newest first; unknown ids and kinds give clear errors", () => {
    const store = tempStore();
    const a = createOperation(store.db, { ...newOp, now: 1 });
    const b = createOperation(store.db, { ...newOp, kind: "backup", now: 2 });
    finishOperation(store.db, a.id, { phase: "failed", version: 0, error: "x" });
    expect(listOperations(store.db, { limit: 10 }).map((o) => o.id)).toEqual([b.id, a.id]);
    expect(listOperations(store.db, { phase: "failed", limit: 10 }).map((o) => o.id)).toEqual([a.id]);
    expect(listUnfinishedOperations(store.db).map((o) => o.id)).toEqual([b.id]);
    expect(() => startStep(store.db, "op-missing", { step: "x", version: 0 })).toThrow(StoreNotFoundError);
    // @ts-expect-error: a kind from untyped input
    expect(() => createOperation(store.db, { ...newOp, kind: "explode" })).toThrow(StoreInputError);
  });

  test("params that look like secret values are refused, references are fine", () => {
    const store = tempStore();
    const withParams = (params: Record<string, unknown>) => () =>
      createOperation(store.db, { ...newOp, params: params as never });
    expect(withParams({ owner: { identity: { privateKey: "-----BEGIN" } } })).toThrow(
      "params.owner.identity.privateKey looks like a secret value",
    );
    expect(withParams({ steps: [{ apiToken: "x" }] })).toThrow(StoreInputError);
    expect(withParams({ ownerSecretName: "cas-owner", tokenName: "ci", version: "5.10" })).not.toThrow();
  });
});
