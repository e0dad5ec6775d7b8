// How long-running operations are executed: a runner per kind (provision, upgrade, backup, restore, evict),
// connected by whoever builds the API (the CAS flows). A runner is a list of named steps; `report.step` runs each
// one at most once across process restarts, because the store records the steps done.
import type { OperationRecord } from "../../store/operations.ts";
import type { JsonObject, OperationKind } from "../../store/schema.ts";

export interface StepContext {
  /**
   * True when a previous process started this step and died before recording it done: its effect may or may
   * not have happened, so check the world first and only redo what is missing.
   */
  readonly interrupted: boolean;
  /** Aborted when the API shuts down; stop at the next safe point (the operation resumes at the next start). */
  readonly signal: AbortSignal;
}

export interface OperationReport {
  /**
   * Runs the step unless it is already done. Steps return nothing: a resumed operation skips finished steps, so
   * a later step must read what it needs from the cluster or the store, not from an earlier step's return value.
   */
  step(name: string, run: (ctx: StepContext) => Promise<void>): Promise<void>;
  readonly signal: AbortSignal;
}

export interface OperationRunner {
  /** Runs (or resumes) the operation; the returned object becomes its `result`. Throw to fail it. */
  run(op: OperationRecord, report: OperationReport): Promise<JsonObject | undefined>;
}

/** Runner per kind; a kind without one answers 501 on POST /api/v1/operations. */
export type OperationRunners = Partial<Record<OperationKind, OperationRunner>>;

/** Thrown by report.step once the executor stops: the operation stays running and resumes at the next start. */
export class OperationStopped extends Error {
  override readonly name = "OperationStopped";
}
