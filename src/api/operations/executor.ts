// Runs operations in the background of the API process and resumes, at start, those a dead process left
// pending or running. Steps recorded done are skipped; the step that was in progress is redone with
// `interrupted: true`. Only one process may execute operations of a state directory (the store's optimistic
// versions make a second one fail its writes rather than repeat a step).
import type { Logger } from "../../log.ts";
import { StoreConflictError } from "../../store/errors.ts";
import type { StoreDb } from "../../store/open.ts";
import {
  completeStep,
  finishOperation,
  getOperation,
  listUnfinishedOperations,
  type OperationRecord,
  startStep,
  stepState,
} from "../../store/operations.ts";
import type { OperationKind } from "../../store/schema.ts";
import { type OperationReport, type OperationRunners, OperationStopped } from "./runner.ts";

const MAX_ERROR_CHARS = 2000;

export class OperationExecutor {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly db: StoreDb,
    private readonly runners: OperationRunners,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  has(kind: OperationKind): boolean {
    return this.runners[kind] !== undefined;
  }

  /** Starts the operation in the background (no-op if it already runs here). */
  start(op: OperationRecord): void {
    if (this.inFlight.has(op.id) || this.abort.signal.aborted) return;
    const done = this.execute(op).finally(() => this.inFlight.delete(op.id));
    this.inFlight.set(op.id, done);
  }

  /** Picks up every pending or running operation; returns how many were resumed. */
  resumeUnfinished(): number {
    let resumed = 0;
    for (const op of listUnfinishedOperations(this.db)) {
      if (!this.has(op.kind)) {
        this.fail(op, `no ${op.kind} runner in this version of scone; the operation cannot continue`);
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
        current = startStep(this.db, current.id, { step: name, version: current.version, now: this.now() });
        await run({ interrupted: state === "interrupted", signal });
        current = completeStep(this.db, current.id, { step: name, version: current.version, now: this.now() });
      },
    };
    try {
      const result = await runner.run(current, report);
      finishOperation(this.db, current.id, {
        phase: "succeeded",
        version: current.version,
        now: this.now(),
        ...(result === undefined ? {} : { result }),
      });
      this.log.info("operation succeeded", { id: current.id, kind: current.kind });
    } catch (err) {
      if (err instanceof OperationStopped || signal.aborted) {
        this.log.info("operation paused; it resumes at the next start", { id: current.id, step: current.currentStep });
        return;
      }
      if (err instanceof StoreConflictError && getOperation(this.db, current.id)?.version !== current.version) {
        // Someone else wrote the operation: do not fight over it.
        this.log.warn("operation changed by another writer; leaving it", { id: current.id, error: err.message });
        return;
      }
      // Any other conflict is the runner's own misuse (e.g. it swallowed a step's error and finished): fail it.
      this.fail(getOperation(this.db, current.id) ?? current, messageOf(err));
    }
  }

  private fail(op: OperationRecord, error: string): void {
    try {
      finishOperation(this.db, op.id, { phase: "failed", version: op.version, error, now: this.now() });
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
