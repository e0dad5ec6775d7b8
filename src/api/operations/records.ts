// Where operation records live. A laptop or an air-gapped host: the SQLite store of the one API process. In a
// cluster (--kube-auth): Kubernetes, so every API replica lists, reads and resumes the same operations
// (kube-records.ts; why a ConfigMap per operation: docs/state.md). Both keep the store's rules: the same pure
// transitions (startStepChange, …) and the same optimistic version check on every write.
import type { StoreDb } from "../../store/open.ts";
import {
  createOperation,
  getOperation,
  listOperations,
  listUnfinishedOperations,
  type NewOperation,
  type OperationChange,
  type OperationRecord,
  updateOperation,
} from "../../store/operations.ts";
import type { OperationKind, OperationPhase } from "../../store/schema.ts";
import { operationsPage } from "../store-pages.ts";

export interface OperationPageQuery {
  readonly kind?: OperationKind;
  /** Only these namespaces (undefined: all). */
  readonly namespaces?: readonly string[] | undefined;
  readonly name?: string;
  readonly phase?: OperationPhase;
  /** Keyset position: operations strictly older than this (createdAt, then id). */
  readonly after?: { readonly t: number; readonly id: string };
  readonly limit: number;
}

export interface OperationRecords {
  create(input: NewOperation): Promise<OperationRecord>;
  get(id: string): Promise<OperationRecord | null>;
  /** Newest first (createdAt, then id, descending). */
  page(query: OperationPageQuery): Promise<OperationRecord[]>;
  /** Pending and running operations (of a target, when given). */
  unfinished(target?: { readonly namespace: string; readonly name: string }): Promise<OperationRecord[]>;
  /** Writes `change(latest)` if the record still has `op.version`, else StoreConflictError; bumps the version. */
  update(
    op: OperationRecord,
    now: number,
    change: (latest: OperationRecord) => OperationChange,
  ): Promise<OperationRecord>;
}

export function sqliteOperationRecords(db: StoreDb): OperationRecords {
  return {
    create: async (input) => createOperation(db, input),
    get: async (id) => getOperation(db, id),
    page: async (q) =>
      operationsPage(db, {
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.name ? { name: q.name } : {}),
        ...(q.phase ? { phase: q.phase } : {}),
        namespaces: q.namespaces,
        ...(q.after ? { after: q.after } : {}),
        limit: q.limit,
      }),
    unfinished: async (target) =>
      target === undefined
        ? listUnfinishedOperations(db)
        : listOperations(db, { ...target, phase: ["pending", "running"], limit: 1000 }),
    update: async (op, now, change) => updateOperation(db, op.id, op.version, now, change),
  };
}
