// Runs operations in the background of the API process and resumes those a dead process (or a replica that lost
// its leadership) left pending or running. Steps recorded done are skipped; the step that was in progress is redone
// with `interrupted: true`. One process executes the operations of a record store at a time: the only API of a
// state directory, or the leader among the replicas of a cluster (the records' optimistic versions make any other
// writer fail its writes rather than repeat a step).
import type { Logger } from "../../log.ts";
import { StoreConflictError } from "../../store/errors.ts";
import {
  completeStepChange,
  finishChange,
  type OperationRecord,
  startStepChange,
  stepState,
} from "../../store/operations.ts";
import type { OperationKind } from "../../store/schema.ts";
import type { OperationRecords } from "./records.ts";
import { type OperationReport, type OperationRunners, OperationStopped } from "./runner.ts";

const MAX_ERROR_CHARS = 2000;

export class OperationExecutor {
  private readonly inFlight = new Map<string, Promise<void>>();
  private abort = new AbortController();
  private stopped = false;
  /**
   * Whether this process executes operations now. Always for the SQLite store; among replicas sharing records in
   * a cluster, only while it leads (the others accept and show operations, the leader runs them).
   */
  private active: boolean;

  constructor(
    readonly records: OperationRecords,
    private readonly runners: OperationRunners,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    options: { active?: boolean } = {},
  ) {
    this.active = options.active ?? true;
  }

  /** Starts executing (leadership gained): resumes what is unfinished; returns how many were started. */
  async activate(): Promise<number> {
    if (this.stopped) return 0;
    this.active = true;
    return this.resumeUnfinished();
  }

  /** Stops executing (leadership lost): running operations stop at their next step and stay running. */
  async deactivate(): Promise<void> {
    this.active = false;
    this.abort.abort(new OperationStopped("this replica no longer executes operations"));
    await this.idle();
    if (!this.stopped) this.abort = new AbortController();
  }

  has(kind: OperationKind): boolean {
    return this.runners[kind] !== undefined;
  }

  /** Starts the operation in the background (no-op if it already runs here). */
  start(op: OperationRecord): void {
    if (!this.active || this.inFlight.has(op.id) || this.abort.signal.aborted) return;
    const done = this.execute(op).finally(() => this.inFlight.delete(op.id));
    this.inFlight.set(op.id, done);
  }

  /** Picks up every pending or running operation not running here yet; returns how many were started. */
  async resumeUnfinished(): Promise<number> {
    let resumed = 0;
    if (!this.active) return 0;
    for (const op of await this.records.unfinished()) {
      if (!this.active || this.inFlight.has(op.id) || this.abort.signal.aborted) continue;
      if (!this.has(op.kind)) {
        await this.fail(op, `no ${op.kind} runner in this version of scone; the operation cannot continue`);
        continue;
      }
      this.log.info("resuming operation", { id: op.id, kind: op.kind, stepsDone: op.stepsDone.length });
      this.start(op);
      resumed++;
    }
    return resumed;
  }

  /** Resolves when every operation started so far has settled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Asks running operations to stop at their next step and waits for them; they resume at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.active = false;
    this.abort.abort(new OperationStopped("the API is shutting down"));
    await this.idle();
  }

  private async execute(initial: OperationRecord): Promise<void> {
    const runner = this.runners[initial.kind];
    if (!runner) return;
    let current = initial;
    const signal = this.abort.signal;
    const report: OperationReport = {
      signal,
      step: async (name, run) => {
        if (signal.aborted) throw new OperationStopped("the API is shutting down");
        const state = stepState(current, name);
        if (state === "done") return;
        current = await this.records.update(current, this.now(), (op) => startStepChange(op, name));
        await run({ interrupted: state === "interrupted", signal });
        current = await this.records.update(current, this.now(), (op) => completeStepChange(op, name));
      },
    };
    try {
      const result = await runner.run(current, report);
      await this.records.update(current, this.now(), (op) =>
        finishChange(op, { phase: "succeeded", ...(result === undefined ? {} : { result }) }),
      );
      this.log.info("operation succeeded", { id: current.id, kind: current.kind });
    } catch (err) {
      if (err instanceof OperationStopped || signal.aborted) {
        this.log.info("operation paused; it resumes at the next start", { id: current.id, step: current.currentStep });
        return;
      }
      const latest = await this.records.get(current.id).catch(() => null);
      if (err instanceof StoreConflictError && latest?.version !== current.version) {
        // Someone else wrote the operation: do not fight over it.
        this.log.warn("operation changed by another writer; leaving it", { id: current.id, error: err.message });
        return;
      }
      // Any other conflict is the runner's own misuse (e.g. it swallowed a step's error and finished): fail it.
      await this.fail(latest ?? current, messageOf(err));
    }
  }

  private async fail(op: OperationRecord, error: string): Promise<void> {
    try {
      await this.records.update(op, this.now(), (latest) => finishChange(latest, { phase: "failed", error }));
      this.log.warn("operation failed", { id: op.id, kind: op.kind, error });
    } catch (err) {
      this.log.warn("could not record the failure of an operation", { id: op.id, error: messageOf(err) });
    }
  }
}

/** The message only: stacks stay out of the store and the API. */
function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}
