// Long-running operations (provision, upgrade, backup, restore, evict), recorded step by step so that a
// restarted process resumes them: a step in steps_done is never run again; a step left in current_step was
// interrupted and must be re-checked (its effect may or may not have happened) before it is redone.
// Every write names the version it read; a concurrent writer makes it fail instead of silently overwriting.
import { and, desc, eq, inArray, lt } from "drizzle-orm";
import { StoreConflictError, StoreInputError, StoreNotFoundError } from "./errors.ts";
import { newId } from "./ids.ts";
import type { StoreDb } from "./open.ts";
import { clampLimit, equalities } from "./query.ts";
import {
  type JsonObject,
  type JsonValue,
  OPERATION_KINDS,
  type OperationKind,
  type OperationPhase,
  operations,
} from "./schema.ts";

export type OperationRecord = typeof operations.$inferSelect;

export interface NewOperation {
  kind: OperationKind;
  namespace: string;
  name: string;
  /** Request parameters WITHOUT secrets: this is stored in clear and shown by `scone op get`. */
  params?: JsonObject;
  /** Token name, or "cli". */
  createdBy: string;
  id?: string;
  now?: number;
}

export function createOperation(db: StoreDb, input: NewOperation): OperationRecord {
  return db.insert(operations).values(newOperationRecord(input)).returning().get();
}

/** The record of a new operation, validated (kind, target name, no secret-looking parameter); stored by the caller. */
export function newOperationRecord(input: NewOperation): OperationRecord {
  if (!(OPERATION_KINDS as readonly string[]).includes(input.kind)) {
    throw new StoreInputError(
      "kind",
      `operation kind "${input.kind}" is invalid: use one of ${OPERATION_KINDS.join(", ")}`,
    );
  }
  if (input.name === "") throw new StoreInputError("name", "operation target name must not be empty");
  const secretPath = findSecretLikeKey(input.params ?? {}, "params");
  if (secretPath !== undefined) {
    throw new StoreInputError(
      secretPath,
      `${secretPath} looks like a secret value; operations are stored in clear, so pass a reference (e.g. a Secret name) instead`,
    );
  }
  const now = input.now ?? Date.now();
  return {
    id: input.id ?? newId("op", now),
    kind: input.kind,
    namespace: input.namespace,
    name: input.name,
    params: input.params ?? {},
    phase: "pending",
    currentStep: null,
    stepsDone: [],
    version: 0,
    createdBy: input.createdBy,
    createdAt: now,
    updatedAt: now,
    error: null,
    result: null,
  };
}

// Key names that hold secret values; references such as "secretName" or "tokenRef" do not end like this.
const SECRET_KEY = /(secret|password|passphrase|token|private_?key|api_?key|seed)$/i;

/** Path of the first key in `value` whose name says it holds a secret, e.g. "params.owner.privateKey". */
function findSecretLikeKey(value: JsonValue, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findSecretLikeKey(item, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (SECRET_KEY.test(key)) return `${path}.${key}`;
      const found = findSecretLikeKey(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

export function getOperation(db: StoreDb, id: string): OperationRecord | null {
  return db.select().from(operations).where(eq(operations.id, id)).get() ?? null;
}

export interface ListOperationsQuery {
  phase?: OperationPhase | readonly OperationPhase[];
  kind?: OperationKind;
  namespace?: string;
  name?: string;
  limit: number;
  /** Only operations created strictly before this time (ms). */
  before?: number;
}

/** Newest first. */
export function listOperations(db: StoreDb, query: ListOperationsQuery): OperationRecord[] {
  const t = operations;
  const where = equalities([
    [t.kind, query.kind],
    [t.namespace, query.namespace],
    [t.name, query.name],
  ]);
  if (typeof query.phase === "string") where.push(eq(t.phase, query.phase));
  else if (query.phase !== undefined) where.push(inArray(t.phase, [...query.phase]));
  if (query.before !== undefined) where.push(lt(t.createdAt, query.before));
  return db
    .select()
    .from(t)
    .where(and(...where))
    .orderBy(desc(t.createdAt), desc(t.id))
    .limit(clampLimit(query.limit))
    .all();
}

/** Operations a restarted process has to pick up again. */
export function listUnfinishedOperations(db: StoreDb, limit = 1000): OperationRecord[] {
  return listOperations(db, { phase: ["pending", "running"], limit });
}

export type StepState = "done" | "interrupted" | "todo";

/** done: skip it. interrupted: it started and may have had effects; check, then redo or record it. todo: run it. */
export function stepState(op: OperationRecord, step: string): StepState {
  if (op.stepsDone.includes(step)) return "done";
  if (op.currentStep === step) return "interrupted";
  return "todo";
}

export interface StepWrite {
  step: string;
  /** The version of the operation as last read. */
  version: number;
  now?: number;
}

/** Records that `step` starts now (pending → running). Restarting an interrupted step is allowed. */
export function startStep(db: StoreDb, id: string, { step, version, now }: StepWrite): OperationRecord {
  return updateOperation(db, id, version, now, (op) => startStepChange(op, step));
}

/** Records that the current step `step` finished; it will never run again for this operation. */
export function completeStep(db: StoreDb, id: string, { step, version, now }: StepWrite): OperationRecord {
  return updateOperation(db, id, version, now, (op) => completeStepChange(op, step));
}

export function finishOperation(db: StoreDb, id: string, input: FinishOperation): OperationRecord {
  return updateOperation(db, id, input.version, input.now, (op) => finishChange(op, input));
}

/** The change that starts `step` of `op`, or the conflict that forbids it (pure: every record store uses it). */
export function startStepChange(op: OperationRecord, step: string): OperationChange {
  const id = op.id;
  if (op.phase !== "pending" && op.phase !== "running") throw finished(op);
  if (op.stepsDone.includes(step)) throw new StoreConflictError(`operation ${id}: step "${step}" is already done`);
  if (op.currentStep !== null && op.currentStep !== step) {
    throw new StoreConflictError(`operation ${id}: step "${op.currentStep}" is still in progress; complete it first`);
  }
  return { phase: "running", currentStep: step };
}

/** The change that records the current step `step` of `op` done. */
export function completeStepChange(op: OperationRecord, step: string): OperationChange {
  const id = op.id;
  if (op.phase !== "running") throw finished(op);
  if (op.currentStep !== step) {
    throw new StoreConflictError(
      `operation ${id}: step "${step}" was not started (current: ${op.currentStep ?? "none"})`,
    );
  }
  return { currentStep: null, stepsDone: [...op.stepsDone, step] };
}

export interface FinishOperation {
  phase: "succeeded" | "failed";
  version: number;
  error?: string;
  result?: JsonObject;
  now?: number;
}

/** The change that ends `op` as succeeded or failed. */
export function finishChange(op: OperationRecord, input: Omit<FinishOperation, "version" | "now">): OperationChange {
  const id = op.id;
  if (op.phase !== "pending" && op.phase !== "running") throw finished(op);
  if (input.phase === "succeeded" && op.currentStep !== null) {
    throw new StoreConflictError(
      `operation ${id}: step "${op.currentStep}" is still in progress; it cannot succeed yet`,
    );
  }
  return { phase: input.phase, error: input.error ?? null, result: input.result ?? null };
}

function finished(op: OperationRecord): StoreConflictError {
  return new StoreConflictError(`operation ${op.id} already ${op.phase}`);
}

export type OperationChange = Partial<
  Pick<OperationRecord, "phase" | "currentStep" | "stepsDone" | "error" | "result">
>;

/** Applies `change` to the operation if it still has `version` (else a StoreConflictError); bumps the version. */
export function updateOperation(
  db: StoreDb,
  id: string,
  version: number,
  now: number | undefined,
  change: (op: OperationRecord) => OperationChange,
): OperationRecord {
  const op = getOperation(db, id);
  if (!op) throw new StoreNotFoundError(`operation ${id} not found`);
  if (op.version !== version) throw stale(id, op.version, version);
  const updated = db
    .update(operations)
    .set({ ...change(op), version: version + 1, updatedAt: now ?? Date.now() })
    .where(and(eq(operations.id, id), eq(operations.version, version)))
    .returning()
    .get();
  // Another process wrote between our read and our update.
  if (!updated) throw stale(id, getOperation(db, id)?.version ?? version + 1, version);
  return updated;
}

export function stale(id: string, actual: number, expected: number): StoreConflictError {
  return new StoreConflictError(
    `operation ${id} was changed by another writer (version ${actual}, expected ${expected}); read it again`,
  );
}
