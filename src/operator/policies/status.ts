// What a reconcile decided about a policy (an Outcome) → the status to write and the Event to record (pure).
//
// status.state values (SCONE does not enumerate them; ours):
//   (none)      not reconciled yet: the first reconcile writes one of the states below (a separate "Pending"
//               write would double the API writes of a mass apply for a state nobody acts on)
//   Synced      the CAS holds this policy's version: status.hash is the CAS's hash of it
//   Rejected    refused and never registered: by the operator's format checks (Synced reason NotSubmitted, Event
//               PolicyMalformed) or by the CAS (Synced reason CasRejected, Event CasRejected, the CLI's words)
//   Conflict    the CAS's current version is not the one this policy expects (changed at the CAS by someone
//               else, or a stale predecessor): reported with both hashes, never overwritten
//   Superseded  another policy resource registered a newer version naming this one's hash as predecessor
//   Error       the operator could not submit it (the CLI could not be run or reach the CAS, the operator's
//               identity has not attested the CAS yet); retried
// Conditions: SignatureValid (SignedPolicy) / EncryptionKeyValid (EncryptedPolicy), and Synced.
import type { PolicyStatus } from "../../resources/policies.ts";
import {
  POLICY_CONDITION,
  POLICY_EVENT_REASON,
  POLICY_REASON,
  POLICY_STATE,
  type PolicyState,
} from "../../resources/policy-conditions.ts";
import { type Condition, type ConditionInput, findCondition, setConditions } from "../../runtime/conditions.ts";
import type { PolicyProblem } from "./precheck.ts";

export type { PolicyState } from "../../resources/policy-conditions.ts";
export const POLICY_STATES: readonly PolicyState[] = Object.values(POLICY_STATE);

export const SYNCED = POLICY_CONDITION.Synced;
export type ValidityCondition = typeof POLICY_CONDITION.SignatureValid | typeof POLICY_CONDITION.EncryptionKeyValid;

export type ErrorReason =
  | typeof POLICY_REASON.CasUnavailable
  | typeof POLICY_REASON.CasNotAttested
  | typeof POLICY_REASON.CasError;

export type PolicyOutcome =
  /** The operator's own checks refused it: nothing was sent. */
  | { readonly kind: "invalid"; readonly problems: readonly PolicyProblem[] }
  /** The CAS (through the CLI) refused it: the CLI's error text, bounded. */
  | { readonly kind: "casRejected"; readonly message: string }
  | {
      readonly kind: "synced";
      readonly hash: string;
      /** The version it replaced (null: created). Undefined: unknown (encrypted policies). */
      readonly predecessor: string | null | undefined;
      readonly action: typeof POLICY_REASON.Created | typeof POLICY_REASON.Updated | typeof POLICY_REASON.Adopted;
      readonly casAddress: string;
    }
  | { readonly kind: "superseded"; readonly by: string; readonly byHash: string }
  | { readonly kind: "error"; readonly reason: ErrorReason; readonly message: string };

export interface StatusInput {
  readonly previous: PolicyStatus | undefined;
  readonly outcome: PolicyOutcome;
  readonly generation: number | undefined;
  readonly validity: ValidityCondition;
  readonly now: Date;
}

function validityCondition(outcome: PolicyOutcome, validity: ValidityCondition): ConditionInput | undefined {
  if (outcome.kind === "invalid") {
    const first = outcome.problems[0];
    return {
      type: validity,
      status: "False",
      reason: first?.reason ?? POLICY_REASON.Invalid,
      message: outcome.problems.map((p) => p.message).join("; "),
    };
  }
  // An error before the CAS was asked (e.g. no identity) leaves an encryption key unverified.
  if (outcome.kind === "error" && validity === POLICY_CONDITION.EncryptionKeyValid) return undefined;
  // The operator checks the documented shape only; signatures and the key are the CAS's to judge.
  const verified =
    validity === POLICY_CONDITION.SignatureValid
      ? "spec has the documented shape; the CAS verifies the signatures"
      : "spec has the documented shape; the CAS decrypts the session";
  if (outcome.kind === "superseded") return undefined;
  return { type: validity, status: "True", reason: POLICY_REASON.WellFormed, message: verified };
}

function syncedCondition(outcome: PolicyOutcome): ConditionInput {
  switch (outcome.kind) {
    case "invalid":
      return {
        type: SYNCED,
        status: "False",
        reason: POLICY_REASON.NotSubmitted,
        message: "refused by the operator; not sent",
      };
    case "casRejected":
      return { type: SYNCED, status: "False", reason: POLICY_REASON.CasRejected, message: outcome.message };
    case "synced":
      return {
        type: SYNCED,
        status: "True",
        reason: outcome.action,
        message: `registered at ${outcome.casAddress} as ${outcome.hash}${
          outcome.predecessor ? ` (predecessor ${outcome.predecessor})` : ""
        }`,
      };
    case "superseded":
      return {
        type: SYNCED,
        status: "False",
        reason: POLICY_REASON.Superseded,
        message: `replaced by ${outcome.by} (hash ${outcome.byHash})`,
      };
    case "error":
      return { type: SYNCED, status: "False", reason: outcome.reason, message: outcome.message };
  }
}

export function stateOf(outcome: PolicyOutcome): PolicyState {
  switch (outcome.kind) {
    case "invalid":
    case "casRejected":
      return POLICY_STATE.Rejected;
    case "synced":
      return POLICY_STATE.Synced;
    case "superseded":
      return POLICY_STATE.Superseded;
    case "error":
      return POLICY_STATE.Error;
  }
}

/** The status after `outcome`: hash/predecessor/revision move only when a submission was accepted. */
export function nextPolicyStatus(input: StatusInput): PolicyStatus {
  const { previous, outcome, generation, validity, now } = input;
  const conditions: ConditionInput[] = [];
  const valid = validityCondition(outcome, validity);
  if (valid) conditions.push(valid);
  conditions.push(syncedCondition(outcome));
  const synced = outcome.kind === "synced";
  const revision = synced
    ? String(
        outcome.action === "Adopted" ? Number(previous?.revision ?? "0") || 1 : Number(previous?.revision ?? "0") + 1,
      )
    : previous?.revision;
  const predecessor = synced ? (outcome.predecessor ?? "") : previous?.predecessor;
  return {
    state: stateOf(outcome),
    hash: synced ? outcome.hash : (previous?.hash ?? ""),
    ...(predecessor !== undefined ? { predecessor } : {}),
    ...(revision !== undefined ? { revision } : {}),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: setConditions(previous?.conditions as Condition[] | undefined, conditions, generation, now),
  };
}

export interface PolicyEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** The Event for a transition (state or Synced reason changed); undefined when nothing changed. */
export function transitionEvent(
  previous: PolicyStatus | undefined,
  next: PolicyStatus,
  outcome: PolicyOutcome,
): PolicyEvent | undefined {
  const before = findCondition(previous?.conditions as Condition[] | undefined, SYNCED);
  const after = findCondition(next.conditions as Condition[] | undefined, SYNCED);
  const samePlace = previous?.state === next.state && before?.reason === after?.reason;
  if (samePlace && before?.message === after?.message) return undefined;
  switch (outcome.kind) {
    case "invalid":
      return {
        type: "Warning",
        reason: POLICY_EVENT_REASON.PolicyMalformed,
        message: `refused by the operator, not sent to the CAS: ${outcome.problems.map((p) => p.message).join("; ")}`,
      };
    case "casRejected":
      return { type: "Warning", reason: POLICY_EVENT_REASON.CasRejected, message: outcome.message };
    case "synced":
      return { type: "Normal", reason: outcome.action, message: after?.message ?? "" };
    case "superseded":
      return { type: "Normal", reason: POLICY_EVENT_REASON.Superseded, message: after?.message ?? "" };
    case "error":
      return { type: "Warning", reason: outcome.reason, message: outcome.message };
  }
}
