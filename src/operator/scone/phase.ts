// The phases of a Scone stack resource, as the managed service documents them (SCONE-STACK.md "Phases"), as one
// total table: every (phase, event) pair has an answer, so the table test can cover every transition and the
// controller never meets an undefined case.
//
//   Empty ──finalizerAdded──▶ Creating ──succeeded──▶ Running ──specChanged──▶ Updating ──succeeded──▶ Running
//   any ──failed──▶ Error ──retry──▶ Error (attempt again; success ends in Running)
//   Error ──specChanged──▶ Repairing ──succeeded──▶ Running
import { SCONE_MAX_RETRIES, type SconePhase } from "../../resources/scone.ts";

/**
 * What happened: the finalizer was just added (first reconcile), the spec differs from the deployed one (for a
 * resource in Error: the generation changed, i.e. a person changed it), another attempt without a change, the
 * deployment succeeded, or it failed.
 */
export type SconeEvent = "finalizerAdded" | "specChanged" | "retry" | "succeeded" | "failed";

export const SCONE_EVENTS: readonly SconeEvent[] = ["finalizerAdded", "specChanged", "retry", "succeeded", "failed"];

const TABLE: { readonly [P in SconePhase]: { readonly [E in SconeEvent]: SconePhase } } = {
  // Nothing deployed yet: only adding the finalizer starts the work; a failure (e.g. of that patch) is an Error.
  Empty: { finalizerAdded: "Creating", specChanged: "Empty", retry: "Empty", succeeded: "Empty", failed: "Error" },
  Creating: {
    finalizerAdded: "Creating",
    specChanged: "Creating", // still creating, now with the newer spec
    retry: "Creating",
    succeeded: "Running",
    failed: "Error",
  },
  Running: {
    finalizerAdded: "Running",
    specChanged: "Updating",
    retry: "Running",
    succeeded: "Running",
    failed: "Error",
  },
  Updating: {
    finalizerAdded: "Updating",
    specChanged: "Updating",
    retry: "Updating",
    succeeded: "Running",
    failed: "Error",
  },
  // A retry stays in Error until it succeeds; a person's change turns it into a repair.
  Error: {
    finalizerAdded: "Error",
    specChanged: "Repairing",
    retry: "Error",
    succeeded: "Running",
    failed: "Error",
  },
  Repairing: {
    finalizerAdded: "Repairing",
    specChanged: "Repairing",
    retry: "Repairing",
    succeeded: "Running",
    failed: "Error",
  },
};

export function nextSconePhase(current: SconePhase, event: SconeEvent): SconePhase {
  return TABLE[current][event];
}

/** status.lastSuccessPhase: "the previous phase other than Error", updated when the phase changes. */
export function lastSuccessPhaseAfter(
  previous: SconePhase,
  next: SconePhase,
  lastSuccess: SconePhase | undefined,
): SconePhase | undefined {
  if (previous === next || previous === "Error") return lastSuccess;
  return previous;
}

export interface FailureOutcome {
  readonly retryCount: number;
  /** True once SCONE_MAX_RETRIES attempts in a row failed: stop and wait for a change of the resource. */
  readonly waiting: boolean;
}

/** Counts a failed attempt; the stack waits for a person after `max` failures in a row. */
export function afterFailure(retryCount: number | undefined, max = SCONE_MAX_RETRIES): FailureOutcome {
  const count = (retryCount ?? 0) + 1;
  return { retryCount: count, waiting: count >= max };
}

/** Delay before the next attempt after `failures` failures: base·2^(failures−1), at most `maxMs`. */
export function retryDelayMs(failures: number, baseMs: number, maxMs = 5 * 60_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
}

/** How long a resource in Error still waits before its next attempt (0: now), from the time of the last failure. */
export function retryWaitMs(
  status: { readonly retryCount?: number; readonly lastUpdate?: string } | undefined,
  baseMs: number,
  now: Date,
): number {
  const failures = status?.retryCount ?? 0;
  const last = status?.lastUpdate ? Date.parse(status.lastUpdate) : Number.NaN;
  if (failures === 0 || Number.isNaN(last)) return 0;
  return Math.max(0, last + retryDelayMs(failures, baseMs) - now.getTime());
}

/** The message of the stop after the last allowed failure (also the Degraded condition's message). */
export const waitingMessage = (lastError: string, max = SCONE_MAX_RETRIES): string =>
  `waiting for a change after ${max} failed attempts: ${lastError}`;
