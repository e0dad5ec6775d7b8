// The day-2 flows (upgrade, evict, restore) run their own steps, each observing the world before acting, so a rerun
// skips what took effect. This bridge records those steps in the operation's store record as they happen: a step
// that starts becomes the operation's current step, a step that ends (done, or skipped because its effect is there)
// joins stepsDone. Steps already recorded done are still run by the flow — they observe, and later steps need what
// they read — they are just not recorded twice.
import type { StepsProgress } from "../../../flows/steps.ts";
import { type OperationReport, OperationStopped } from "../runner.ts";

export interface FlowOutcome {
  readonly ok: boolean;
  readonly error?: string;
}

/** Runs a flow with its steps recorded through `report`; throws when the flow fails or a record cannot be written. */
export async function runReportedFlow<O extends FlowOutcome>(
  report: OperationReport,
  flow: (progress: StepsProgress) => Promise<O>,
): Promise<O> {
  const bridge = stepRecorder(report);
  let outcome: O;
  try {
    outcome = await flow(bridge.progress);
  } finally {
    // The store writes must be over before the executor writes the operation's end (it names the version it read).
    await bridge.settled;
  }
  if (!outcome.ok) throw new Error(outcome.error ?? "the operation failed");
  if (bridge.failure() !== undefined) throw bridge.failure();
  return outcome;
}

interface StepRecorder {
  readonly progress: StepsProgress;
  /** Resolves once every started record is written (never rejects). */
  readonly settled: Promise<void>;
  failure(): unknown;
}

function stepRecorder(report: OperationReport): StepRecorder {
  // One store write at a time, in step order: runSteps starts the next step before a microtask could record the end
  // of the previous one.
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  const running = new Map<string, PromiseWithResolvers<void>>();
  const recorder: StepRecorder = {
    progress: {
      start(step) {
        if (failure !== undefined) throw failure;
        if (report.signal.aborted) throw new OperationStopped("the API is shutting down");
        const finished = Promise.withResolvers<void>();
        // A step recorded done is not run through report.step, so nobody else may observe its failure.
        finished.promise.catch(() => {});
        running.set(step.name, finished);
        chain = chain
          .then(() => report.step(step.name, () => finished.promise))
          .catch((err: unknown) => {
            failure ??= err;
          });
      },
      finish(record) {
        const finished = running.get(record.name);
        running.delete(record.name);
        if (record.outcome === "failed") finished?.reject(new Error(record.detail ?? `step ${record.name} failed`));
        else finished?.resolve();
      },
    },
    get settled() {
      return chain;
    },
    failure: () => failure,
  };
  return recorder;
}
